/**
 * Shared plumbing of `npm run bench`: the row format every benchmark reports, the table printer,
 * a few statistics helpers. Benchmarks measure; they never assert anything about time. A row marked
 * `broken` (lost invites, wrong counts) is a correctness failure and makes the run exit 1.
 */

export interface BenchRow {
	/** Benchmark group, e.g. "invite 2000 @10/s". */
	bench: string;
	/** What was measured, e.g. "ours: wall time". */
	what: string;
	figure: string;
	/** The machine's own floor for the same work, measured (or derived) in the same run. */
	floor: string;
	/** figure ÷ floor (or floor ÷ figure for rates), when meaningful. */
	ratio: string;
	target: string;
	note?: string;
}

export interface BenchContext {
	quick: boolean;
	/** Progress lines go to stderr so the table on stdout stays clean. */
	log: (line: string) => void;
}

export interface BenchOutcome {
	rows: BenchRow[];
	/** Correctness problems (never timing): each makes `npm run bench` exit 1. */
	broken: string[];
}

export interface Benchmark {
	name: string;
	description: string;
	run(ctx: BenchContext): Promise<BenchOutcome>;
}

export function seconds(ms: number): string {
	return ms >= 10_000
		? `${(ms / 1000).toFixed(1)} s`
		: ms >= 1000
			? `${(ms / 1000).toFixed(2)} s`
			: `${ms.toFixed(0)} ms`;
}

export function perSecond(count: number, ms: number): number {
	return ms > 0 ? count / (ms / 1000) : Infinity;
}

export function rate(value: number, unit: string): string {
	if (!Number.isFinite(value)) return `∞ ${unit}`;
	return `${value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1)} ${unit}`;
}

export function times(value: number): string {
	return Number.isFinite(value) ? `${value.toFixed(2)}×` : '—';
}

export function percent(value: number): string {
	return `${(value * 100).toFixed(1)}%`;
}

export function mib(bytes: number): string {
	return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

/** Nearest-rank percentile of unsorted samples (p in 0..100). */
export function percentile(samples: number[], p: number): number {
	if (samples.length === 0) return NaN;
	const sorted = [...samples].sort((a, b) => a - b);
	const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
	return sorted[rank - 1];
}

export function median(samples: number[]): number {
	return percentile(samples, 50);
}

/** Runs `work` and returns its result with the elapsed wall time in ms. */
export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
	const started = performance.now();
	const value = await work();
	return { value, ms: performance.now() - started };
}

export function sleep(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

export function formatTable(rows: BenchRow[]): string {
	const header: BenchRow = {
		bench: 'benchmark',
		what: 'measure',
		figure: 'figure',
		floor: 'floor',
		ratio: 'vs floor',
		target: 'target',
		note: 'note',
	};
	const columns: Array<keyof BenchRow> = [
		'bench',
		'what',
		'figure',
		'floor',
		'ratio',
		'target',
		'note',
	];
	const cells = [header, ...rows].map((row) => columns.map((c) => String(row[c] ?? '')));
	const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
	const line = (r: string[]) => `| ${r.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
	const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
	return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n');
}

/** Integer from the environment, else the default. */
export function envInt(name: string, fallback: number): number {
	const raw = process.env[name];
	const value = raw === undefined ? NaN : Number(raw);
	return Number.isFinite(value) && value > 0 ? value : fallback;
}
