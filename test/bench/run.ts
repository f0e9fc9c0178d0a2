/**
 * `npm run bench`: runs the benchmarks, prints one table with the machine's floor beside every
 * figure. Asserts nothing about time; exits 1 only when something is broken (lost or duplicated
 * invites, wrong counts, a benchmark that crashed).
 *
 *   --only=<name>[,<name>]   run only these (invite, pretix, store, n8n); env BENCH_ONLY
 *   --quick                  smaller sizes for a smoke run; env BENCH_QUICK=1
 */
import { formatTable, type BenchRow, type Benchmark } from './common';
import { inviteBench } from './invite';
import { n8nBench } from './n8n';
import { pretixBench } from './pretix';
import { storeBench } from './store';

const BENCHMARKS: Benchmark[] = [inviteBench, pretixBench, storeBench, n8nBench];

function option(name: string): string | undefined {
	const prefix = `--${name}=`;
	const arg = process.argv.slice(2).find((a) => a === `--${name}` || a.startsWith(prefix));
	if (arg === undefined) return undefined;
	return arg.startsWith(prefix) ? arg.slice(prefix.length) : 'true';
}

async function main(): Promise<number> {
	const quick = option('quick') !== undefined || process.env.BENCH_QUICK === '1';
	const only = (option('only') ?? process.env.BENCH_ONLY ?? '')
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean);
	const unknown = only.filter((name) => !BENCHMARKS.some((b) => b.name === name));
	if (unknown.length) {
		process.stderr.write(
			`Unknown benchmark(s): ${unknown.join(', ')}. Known: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`,
		);
		return 2;
	}
	const selected = BENCHMARKS.filter((b) => only.length === 0 || only.includes(b.name));
	const log = (line: string) =>
		process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
	const rows: BenchRow[] = [];
	const broken: string[] = [];
	for (const bench of selected) {
		log(`${bench.name}: ${bench.description}${quick ? ' (quick)' : ''}`);
		try {
			const outcome = await bench.run({ quick, log });
			rows.push(...outcome.rows);
			broken.push(...outcome.broken);
			// Partial tables as we go: a long run still leaves figures behind if a later part fails.
			process.stderr.write(`${formatTable(outcome.rows)}\n`);
		} catch (error) {
			const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
			broken.push(`${bench.name}: crashed: ${message}`);
		}
	}
	process.stdout.write(
		`\nnpm run bench${quick ? ' --quick' : ''} — ${new Date().toISOString()} — ${process.version}, ${(await import('node:os')).cpus().length} CPUs\n\n`,
	);
	process.stdout.write(`${formatTable(rows)}\n`);
	if (broken.length) {
		process.stdout.write(
			`\nBROKEN (${broken.length}):\n${broken.map((b) => `- ${b}`).join('\n')}\n`,
		);
		return 1;
	}
	return 0;
}

main().then(
	(code) => process.exit(code),
	(error) => {
		process.stderr.write(
			`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
		);
		process.exit(1);
	},
);
