import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PushReason, SchedulerState, WatchPolicy } from './watch-scheduler.js';
import { initialSchedulerState, retryDelay, stepScheduler, wakeAt } from './watch-scheduler.js';

const policy = (over: Partial<WatchPolicy> = {}): WatchPolicy => ({
  mode: 'change',
  debounceMs: 2000,
  maxWaitMs: 10_000,
  intervalMs: 60_000,
  retryMinMs: 1000,
  retryMaxMs: 8000,
  ...over,
});

/**
 * A fake clock driving the scheduler the way the shell does: it wakes at `wakeAt`, feeds changes at
 * their times, and finishes each push `pushMs` after it started with the next planned outcome.
 */
class Simulation {
  now = 0;
  state: SchedulerState = initialSchedulerState();
  readonly pushes: Array<{ at: number; reason: PushReason }> = [];
  private finishAt: number | null = null;
  constructor(
    readonly policy: WatchPolicy,
    private readonly outcomes: boolean[] = [],
    private readonly pushMs = 100,
  ) {
    this.apply({ type: 'tick', at: 0 });
  }

  private apply(event: Parameters<typeof stepScheduler>[1]): void {
    const step = stepScheduler(this.state, event, this.policy);
    this.state = step.state;
    if (step.push !== null) {
      this.pushes.push({ at: event.at, reason: step.push });
      this.finishAt = event.at + this.pushMs;
    }
  }

  /** Runs the clock to `t`, firing wake-ups and push completions on the way. */
  advanceTo(t: number): void {
    for (;;) {
      const wake = wakeAt(this.state, this.policy);
      const next = Math.min(wake ?? Infinity, this.finishAt ?? Infinity);
      if (next > t) break;
      this.now = Math.max(this.now, next);
      if (this.finishAt !== null && this.finishAt <= this.now) {
        this.finishAt = null;
        this.apply({ type: 'push-finished', at: this.now, ok: this.outcomes.shift() ?? true });
      } else this.apply({ type: 'tick', at: this.now });
    }
    this.now = t;
  }

  change(at: number): void {
    this.advanceTo(at);
    this.apply({ type: 'change', at });
  }
}

describe('watch scheduler', () => {
  it('pushes once at start, then nothing while no source changes', () => {
    const sim = new Simulation(policy());
    sim.advanceTo(3_600_000);
    expect(sim.pushes).toEqual([{ at: 0, reason: 'start' }]);
  });

  it('turns a burst of changes into one push after the debounce window of quiet', () => {
    const sim = new Simulation(policy());
    for (let t = 5000; t <= 6000; t += 100) sim.change(t);
    sim.advanceTo(7999);
    expect(sim.pushes).toHaveLength(1);
    sim.advanceTo(60_000);
    expect(sim.pushes).toEqual([
      { at: 0, reason: 'start' },
      { at: 8000, reason: 'change' },
    ]);
  });

  it('pushes a second burst with a second push', () => {
    const sim = new Simulation(policy());
    sim.change(5000);
    sim.change(5500);
    sim.change(20_000);
    sim.change(21_000);
    sim.advanceTo(60_000);
    expect(sim.pushes.map((p) => [p.at, p.reason])).toEqual([
      [0, 'start'],
      [7500, 'change'],
      [23_000, 'change'],
    ]);
  });

  it('pushes a writer that never pauses at least every maxWait', () => {
    const sim = new Simulation(policy({ debounceMs: 2000, maxWaitMs: 10_000 }));
    for (let t = 1000; t <= 40_000; t += 500) sim.change(t);
    const changePushes = sim.pushes.filter((p) => p.reason === 'change').map((p) => p.at);
    expect(changePushes.length).toBeGreaterThanOrEqual(3);
    expect(changePushes[0]).toBe(11_000);
    for (let i = 1; i < changePushes.length; i++) expect(changePushes[i]! - changePushes[i - 1]!).toBeLessThanOrEqual(10_000 + 500 + 100);
  });

  it('runs one push at a time, and one more after a push that saw changes', () => {
    const sim = new Simulation(policy({ debounceMs: 100 }), [], 5000);
    sim.change(6000); // push at 6100, running until 11100
    sim.change(7000);
    sim.change(8000);
    sim.advanceTo(30_000);
    expect(sim.pushes.map((p) => p.at)).toEqual([0, 6100, 11_100]);
  });

  it('backs off exponentially after failures, capped, and resets after a success', () => {
    // start push fails 5 times, then succeeds; later failures start again from the minimum
    const sim = new Simulation(policy({ retryMinMs: 1000, retryMaxMs: 4000 }), [false, false, false, false, false, true, false, true], 0);
    sim.advanceTo(100_000);
    expect(sim.pushes.map((p) => [p.at, p.reason])).toEqual([
      [0, 'start'],
      [1000, 'retry'],
      [3000, 'retry'],
      [7000, 'retry'],
      [11_000, 'retry'],
      [15_000, 'retry'],
    ]);
    sim.change(200_000);
    sim.advanceTo(300_000);
    expect(sim.pushes.slice(6).map((p) => [p.at, p.reason])).toEqual([
      [202_000, 'change'],
      [203_000, 'retry'],
    ]);
  });

  it('does not push changes seen during a backoff before the retry is due', () => {
    const sim = new Simulation(policy({ debounceMs: 100, retryMinMs: 5000 }), [false], 0);
    sim.change(1000);
    sim.change(2000);
    sim.advanceTo(20_000);
    expect(sim.pushes.map((p) => [p.at, p.reason])).toEqual([
      [0, 'start'],
      [5000, 'retry'],
    ]);
  });

  it('in interval mode pushes on the period and ignores changes', () => {
    const sim = new Simulation(policy({ mode: 'interval', intervalMs: 10_000 }));
    sim.change(3000);
    sim.advanceTo(35_000);
    expect(sim.pushes.map((p) => [p.at, p.reason])).toEqual([
      [0, 'start'],
      [10_000, 'interval'],
      [20_000, 'interval'],
      [30_000, 'interval'],
    ]);
  });

  it('starts nothing after stop, and lets a running push finish', () => {
    const sim = new Simulation(policy({ debounceMs: 100 }), [], 1000);
    let step = stepScheduler(sim.state, { type: 'stop', at: 500 }, sim.policy);
    expect(step.state.running?.reason).toBe('start');
    step = stepScheduler(step.state, { type: 'change', at: 600 }, sim.policy);
    step = stepScheduler(step.state, { type: 'push-finished', at: 1000, ok: false }, sim.policy);
    expect(step.push).toBeNull();
    expect(step.state.running).toBeNull();
    expect(wakeAt(step.state, sim.policy)).toBeNull();
  });

  it('computes the retry delay as min × 2^(n−1), capped', () => {
    const p = { retryMinMs: 1000, retryMaxMs: 60_000 };
    expect([1, 2, 3, 4, 7, 8, 1000].map((n) => retryDelay(n, p))).toEqual([1000, 2000, 4000, 8000, 60_000, 60_000, 60_000]);
  });

  it('never runs two pushes at once and never pushes while a retry is pending (any event order)', () => {
    const event = fc.oneof(
      fc.record({ type: fc.constant('change' as const), dt: fc.integer({ min: 0, max: 5000 }) }),
      fc.record({ type: fc.constant('tick' as const), dt: fc.integer({ min: 0, max: 5000 }) }),
      fc.record({ type: fc.constant('push-finished' as const), dt: fc.integer({ min: 0, max: 5000 }), ok: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), fc.constantFrom<'change' | 'interval'>('change', 'interval'), (events, mode) => {
        const p = policy({ mode, debounceMs: 500, maxWaitMs: 3000, intervalMs: 4000 });
        let state = initialSchedulerState();
        let now = 0;
        let running = false;
        for (const e of events) {
          now += e.dt;
          const step = stepScheduler(state, e.type === 'push-finished' ? { type: e.type, at: now, ok: e.ok } : { type: e.type, at: now }, p);
          if (e.type === 'push-finished' && running) running = false;
          if (step.push !== null) {
            expect(running).toBe(false);
            if (state.retryAt !== null) expect(now).toBeGreaterThanOrEqual(state.retryAt);
            running = true;
          }
          expect(step.state.running !== null).toBe(running);
          state = step.state;
        }
      }),
    );
  });
});
