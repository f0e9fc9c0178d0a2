/**
 * Two (and three) real OS processes claim the same keys at the same moment, against the sqlite
 * file, PostgreSQL and Redis: every key must be won by exactly one process.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { STORES, type BackendSpec, type TestStore } from './backends';

const WORKER = join(__dirname, 'concurrency-worker.ts');
const TSX = require.resolve('tsx');

interface WorkerResult {
	won: string[];
	startedAt: number;
	finishedAt: number;
}

function runWorker(
	spec: BackendSpec,
	subjects: string[],
	batch: number,
	startAt: number,
): Promise<WorkerResult> {
	return new Promise((resolve, reject) => {
		const args = JSON.stringify({
			spec,
			secret: 'i9jAxM63AiPlcraiTRIG-1DbfrsYKEW_',
			subjects,
			batch,
			startAt,
		});
		const child = spawn(process.execPath, ['--no-warnings', '--import', TSX, WORKER, args], {
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let out = '';
		let err = '';
		child.stdout.on('data', (chunk) => (out += chunk));
		child.stderr.on('data', (chunk) => (err += chunk));
		child.on('error', reject);
		child.on('exit', (code) => {
			if (code !== 0) return reject(new Error(`worker exited with ${code}: ${err}`));
			resolve(JSON.parse(out) as WorkerResult);
		});
	});
}

describe.each(STORES)('cross-process claims: %s', (_kind, makeStore) => {
	let store: TestStore;
	beforeEach(async () => {
		store = makeStore();
		// Create the schema once so the race is about claims, not about table creation.
		const backend = store.create();
		await backend.init();
		await backend.close();
	});
	afterEach(() => store.cleanup());

	test('two processes, same 2000 keys, opposite orders: each key won exactly once', async () => {
		const subjects = Array.from({ length: 2000 }, (_, i) => `position-${i}`);
		const startAt = Date.now() + 2500;
		const [first, second] = await Promise.all([
			runWorker(store.spec, subjects, 100, startAt),
			runWorker(store.spec, [...subjects].reverse(), 100, startAt),
		]);
		// The two really ran at the same time: the race happened. (Who wins how many is up to the
		// backend's lock scheduling: SQLite's busy handler may let one process take every batch.)
		expect(Math.max(first.startedAt, second.startedAt)).toBeLessThan(
			Math.min(first.finishedAt, second.finishedAt),
		);
		const [a, b] = [first.won, second.won];
		expect(a.length + b.length).toBe(subjects.length);
		expect(new Set([...a, ...b]).size).toBe(subjects.length);
		expect(a.filter((s) => b.includes(s))).toEqual([]);
	}, 60_000);

	test('three processes racing for one big batch of the same keys', async () => {
		const subjects = Array.from({ length: 3000 }, (_, i) => `p${i}`);
		const startAt = Date.now() + 2500;
		const results = await Promise.all(
			[0, 1, 2].map(() => runWorker(store.spec, subjects, subjects.length, startAt)),
		);
		expect(Math.max(...results.map((r) => r.startedAt))).toBeLessThan(
			Math.min(...results.map((r) => r.finishedAt)),
		);
		const all = results.flatMap((r) => r.won);
		expect(all.length).toBe(subjects.length);
		expect(new Set(all).size).toBe(subjects.length);
	}, 60_000);
});
