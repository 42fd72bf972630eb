// The clock fuzz target: random histories of pushes from machines whose clocks run ahead, behind,
// or jump forward and back (the uploader alone, on a GCS bucket; or the whole machine, bucket and
// loader included, in local mode), delivered in random order. The loader's ordering decisions are
// the real functions of functions/loader/policy/snapshot-clock.ts; the row merge is a model of
// merge-sql.ts's decision for a `latest` table (the same rule, the integration tests run the SQL).
// Property: the refusal is exactly "claims beyond the store's clock plus the tolerance", and once
// a correct clock pushes last, the environment holds exactly that push's rows — values updated,
// deleted rows missing, new rows present: no clock skew freezes it.
import fc from 'fast-check';
import { claimedTimeProblem, DEFAULT_CLOCK_SKEW_TOLERANCE_MS, futureBound, isLate, orderTime, trustedTime } from '../../functions/loader/policy/snapshot-clock.js';
import { FuzzFailure } from './checks.js';

const TOL = DEFAULT_CLOCK_SKEW_TOLERANCE_MS;
const MIN = 60_000;
const DAY = 86_400_000;
const YEAR = 365.25 * DAY;

export interface ClockPush {
  /** Real time since the previous push, ms (≥ the tolerance before the final push). */
  gapMs: number;
  /** How far the pushing machine's clock is off, ms. */
  offsetMs: number;
  /** Keys (0..7) present in this push, and which of them the tool edited right before it. */
  present: boolean[];
  edited: boolean[];
  /** Real delay between the push and its load, ms. */
  delayMs: number;
}

export interface ClockHistory {
  /** `gcs`: only the uploader's clock is off; `local`: the bucket's filesystem and the loader share it. */
  mode: 'gcs' | 'local';
  pushes: ClockPush[];
}

const offset = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: -TOL, max: TOL }) },
  { weight: 2, arbitrary: fc.integer({ min: TOL + 1, max: 2 * DAY }) },
  { weight: 2, arbitrary: fc.constantFrom(30 * DAY, YEAR, 73 * YEAR) },
  { weight: 2, arbitrary: fc.integer({ min: -YEAR, max: -(TOL + 1) }) },
);

const push = fc.record({
  gapMs: fc.oneof(fc.integer({ min: 1_000, max: 10 * MIN }), fc.integer({ min: 10 * MIN, max: 3 * DAY })),
  offsetMs: offset,
  present: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  edited: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  delayMs: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 2_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 * DAY }) }),
});

export const clockHistory: fc.Arbitrary<ClockHistory> = fc.record({
  mode: fc.constantFrom('gcs' as const, 'local' as const),
  pushes: fc.array(push, { minLength: 1, maxLength: 10 }),
});

interface Row {
  value: number;
  /** The tool's updated_at (its machine's clock at the edit). */
  updatedAt: number;
  /** Order time of the snapshot that last wrote it. */
  snapshotAt: number;
  missing: boolean;
}

/** One push as the loader sees it. */
interface Delivery {
  index: number;
  realPushAt: number;
  realLoadAt: number;
  claimedAt: number;
  storedAt: number;
  rows: Map<number, { value: number; updatedAt: number }>;
}

/**
 * Replays `h` through the loader's ordering functions and the merge model; throws FuzzFailure when
 * a refusal is wrong or the final state is not the last (correctly clocked) push's content.
 */
export function checkClockHistory(h: ClockHistory): void {
  const start = Date.parse('2026-01-01T00:00:00Z');
  // the final push: a correct clock, well after every other push (the tolerance window passed), delivered last
  const pushes = [...h.pushes];
  const lastIn = pushes.pop()!;
  const last: ClockPush = { ...lastIn, offsetMs: 0, gapMs: Math.max(lastIn.gapMs, 3 * TOL), delayMs: 0 };
  pushes.push(last);

  // the workspace as the tool leaves it before each push
  const tool = new Map<number, { value: number; updatedAt: number }>();
  const deliveries: Delivery[] = [];
  let real = start;
  for (const [i, p] of pushes.entries()) {
    real += p.gapMs;
    const machine = real + p.offsetMs;
    for (let k = 0; k < 8; k++) {
      if (!p.present[k]) tool.delete(k);
      else if (!tool.has(k) || p.edited[k]) tool.set(k, { value: i * 10 + k, updatedAt: machine });
    }
    const storeClock = h.mode === 'gcs' ? real : machine;
    // local mode loads in the same process right after the push (on the same clock)
    deliveries.push({ index: i, realPushAt: real, realLoadAt: real + (h.mode === 'gcs' ? p.delayMs : 0), claimedAt: machine, storedAt: storeClock, rows: new Map([...tool].map(([k, v]) => [k, { ...v }])) });
  }
  const final = deliveries.at(-1)!;
  // delivery order: by load time; the final push loads after everything else
  const order = [...deliveries.slice(0, -1)].sort((a, b) => a.realLoadAt - b.realLoadAt || a.index - b.index);
  order.push({ ...final, realLoadAt: Math.max(final.realLoadAt, ...order.map((d) => d.realLoadAt)) + 1 });

  const db = new Map<number, Row>();
  let newest: string | null = null;
  let finalBound = 0;
  for (const d of order) {
    const p = pushes[d.index]!;
    const loaderNow = new Date(h.mode === 'gcs' ? d.realLoadAt : d.realLoadAt + p.offsetMs);
    const bound = futureBound(loaderNow, TOL);
    finalBound = bound.getTime();
    const stored = new Date(d.storedAt);
    const orderAt = stored.getTime() <= bound.getTime() ? orderTime(stored, loaderNow) : loaderNow;
    const problem = claimedTimeProblem({ createdAt: new Date(d.claimedAt).toISOString(), snapshotId: ulidAt(d.claimedAt) }, orderAt, TOL);
    const shouldRefuse = d.claimedAt > orderAt.getTime() + TOL;
    if ((problem !== null) !== shouldRefuse) throw new FuzzFailure(`push ${d.index}: claimed ${new Date(d.claimedAt).toISOString()}, ordered at ${orderAt.toISOString()}: ${problem === null ? 'accepted' : 'refused'}, expected ${shouldRefuse ? 'refused' : 'accepted'}`);
    if (h.mode === 'gcs' && (problem !== null) !== p.offsetMs > TOL) throw new FuzzFailure(`push ${d.index} on GCS with the uploader's clock off by ${p.offsetMs} ms was ${problem === null ? 'accepted' : 'refused'}`);
    if (problem !== null) continue;
    const late = isLate(newest, orderAt, bound);
    mergeModel(db, d.rows, orderAt.getTime(), bound.getTime(), late);
    if (!late) newest = orderAt.toISOString();
  }

  for (let k = 0; k < 8; k++) {
    const want = final.rows.get(k);
    const got = db.get(k);
    if (want) {
      if (!got) throw new FuzzFailure(`key ${k}: in the last push but not stored`);
      if (got.missing) throw new FuzzFailure(`key ${k}: in the last push but marked missing (late: ${JSON.stringify(order.map((o) => o.index))})`);
      // the conflict policy: a stored row whose own (the tool's) updated_at is later and believable
      // keeps its values (a tool clock that went back, or a stamp within the tolerance of the
      // loader's clock); a stamp from beyond the loader's clock plus the tolerance never does
      const newerAndBelievable = got.updatedAt > want.updatedAt && got.updatedAt <= finalBound;
      if (got.value !== want.value && !newerAndBelievable) throw new FuzzFailure(`key ${k}: value ${got.value} kept, the last push has ${want.value} (frozen)`);
    } else if (got && !got.missing) {
      throw new FuzzFailure(`key ${k}: gone from the last push but not marked missing`);
    }
  }
}

/** merge-sql.ts's decision for a `latest` table, and the missing marks of a full source table. */
function mergeModel(db: Map<number, Row>, staged: Map<number, { value: number; updatedAt: number }>, orderAt: number, bound: number, late: boolean): void {
  const trusted = (t: number) => trustedTime(new Date(t), new Date(bound))?.getTime() ?? null;
  for (const [k, s] of staged) {
    const t = db.get(k);
    if (!t) {
      db.set(k, { value: s.value, updatedAt: s.updatedAt, snapshotAt: orderAt, missing: late });
      continue;
    }
    if (t.value === s.value && t.updatedAt === s.updatedAt) {
      if (!late) t.missing = false;
      continue;
    }
    const su = trusted(s.updatedAt);
    const tu = trusted(t.updatedAt);
    let update: boolean;
    if (su !== null && tu !== null && su !== tu) update = su > tu;
    else update = orderAt >= t.snapshotAt || t.snapshotAt > bound;
    if (update) db.set(k, { value: s.value, updatedAt: s.updatedAt, snapshotAt: orderAt, missing: late ? t.missing : false });
    // kept: the stored values stay, but a row this snapshot holds is present
    else if (!late) t.missing = false;
  }
  if (!late) for (const [k, t] of db) if (!staged.has(k)) t.missing = true;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** A ULID whose time part is `ms` (the random part is zero: only the time matters here). */
function ulidAt(ms: number): string {
  let t = Math.max(0, Math.floor(ms));
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return `${out}${'0'.repeat(16)}`;
}
