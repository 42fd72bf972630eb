// "Did you mean …?" for a mistyped command: the closest known name by edit distance (adjacent
// swaps count as one edit), or a name the word is a prefix of. Pure.

/** The known name closest to `word`, or null when none is close enough to be a likely typo. */
export function suggestCommand(word: string, names: readonly string[]): string | null {
  const w = word.toLowerCase();
  const prefixed = names.filter((n) => n.startsWith(w));
  if (w.length >= 2 && prefixed.length === 1) return prefixed[0]!;
  let best: { name: string; distance: number } | null = null;
  for (const name of names) {
    const d = editDistance(w, name);
    if (best === null || d < best.distance) best = { name, distance: d };
  }
  if (best === null) return null;
  // one edit for short names, up to a third of the name for longer ones
  const allowed = Math.max(1, Math.floor(best.name.length / 3));
  return best.distance <= allowed ? best.name : null;
}

/** Optimal string alignment distance (Damerau–Levenshtein without repeated edits of a substring). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
