// Shape of every benchmark's output. `npm run bench` (test/bench/run.ts) runs each bench module,
// prints one table (figure, baseline, ratio, target) and writes the same as JSON with --out.

export interface BenchFigure {
  /** e.g. "push 100 MB workspace to local bucket" */
  name: string;
  value: number;
  unit: string;
  /** Baseline measured in the same run, e.g. "read + sha256 of the same files". */
  baseline?: { name: string; value: number; unit: string };
  /** value / baseline.value (or the inverse when `higherIsBetter` is false: stated in `ratioLabel`). */
  ratio?: number;
  /** How `ratio` prints: a factor (`0.07x`, the default) or a percentage (`0.21 %`). */
  ratioUnit?: 'x' | '%';
  ratioLabel?: string;
  /** The target in words, e.g. ">= 0.5x baseline". */
  target?: string;
  pass?: boolean;
}

export interface BenchOptions {
  /** Smaller sizes for a quick run (CI smoke); full sizes otherwise. */
  quick: boolean;
  /** Scratch directory for generated data. */
  workDir: string;
  log: (line: string) => void;
}

export type BenchModule = { run(options: BenchOptions): Promise<BenchFigure[]> };
