/**
 * A CPU profile of a running Node process (the n8n main process) over a stretch of a benchmark,
 * through the inspector protocol (./inspector.ts): Profiler.start / Profiler.stop bracket the work. The summary charges
 * each sample's self time to the package its code comes from (this package per file, n8n-core,
 * n8n's CLI, typeorm, …), which tells n8n's own cost from ours.
 */
import { Inspector } from './inspector';

interface ProfileNode {
	id: number;
	callFrame: { functionName: string; url: string; lineNumber: number };
	hitCount?: number;
	children?: number[];
}
interface Profile {
	nodes: ProfileNode[];
	startTime: number;
	endTime: number;
	samples?: number[];
	timeDeltas?: number[];
}

export class CpuProfiler {
	private constructor(private readonly inspector: Inspector) {}

	static async attach(pid: number): Promise<CpuProfiler> {
		const inspector = await Inspector.attach(pid);
		await inspector.send('Profiler.enable');
		await inspector.send('Profiler.setSamplingInterval', { interval: 500 });
		return new CpuProfiler(inspector);
	}

	start(): Promise<unknown> {
		return this.inspector.send('Profiler.start');
	}

	async stop(): Promise<Profile> {
		return (await this.inspector.send<{ profile: Profile }>('Profiler.stop')).profile;
	}

	close(): void {
		this.inspector.close();
	}
}

/** Where a sample's code comes from. */
export function bucketOf(node: Pick<ProfileNode, 'callFrame'>): string {
	const { functionName, url } = node.callFrame;
	if (!url) {
		if (['(idle)', '(garbage collector)', '(program)'].includes(functionName)) return functionName;
		return '(native / V8)';
	}
	const ours = /n8n-nodes-pretix-matrix\/dist\/(.*)$/.exec(url);
	if (ours) return `package: ${ours[1]}`;
	if (url.startsWith('node:')) return 'node internals';
	const packages = [...url.matchAll(/node_modules\/((?:@[^/]+\/)?[^/]+)/g)];
	if (packages.length) return packages[packages.length - 1][1];
	return 'other';
}

/** Self time per bucket (ms) and the package's own hottest functions. */
export function summarizeProfile(profile: Profile, top = 14): string {
	const total = (profile.endTime - profile.startTime) / 1000;
	const selfMs = new Map<number, number>();
	const samples = profile.samples ?? [];
	const deltas = profile.timeDeltas ?? [];
	for (let i = 0; i < samples.length; i++)
		selfMs.set(samples[i], (selfMs.get(samples[i]) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0) / 1000);
	const byBucket = new Map<string, number>();
	const ownFunctions = new Map<string, number>();
	for (const node of profile.nodes) {
		const ms = selfMs.get(node.id) ?? 0;
		if (!ms) continue;
		const bucket = bucketOf(node);
		byBucket.set(bucket, (byBucket.get(bucket) ?? 0) + ms);
		if (bucket.startsWith('package: ')) {
			const name = `${node.callFrame.functionName || '(anonymous)'} ${bucket.slice(9)}:${node.callFrame.lineNumber + 1}`;
			ownFunctions.set(name, (ownFunctions.get(name) ?? 0) + ms);
		}
	}
	// Inclusive time per function (counted once where it recurses): what n8n spends in, e.g., getCredentials.
	const byId = new Map(profile.nodes.map((n) => [n.id, n]));
	const inclusive = new Map<string, number>();
	const subtree = new Map<number, number>();
	const sizeOf = (id: number): number => {
		const known = subtree.get(id);
		if (known !== undefined) return known;
		let sum = selfMs.get(id) ?? 0;
		for (const child of byId.get(id)?.children ?? []) sum += sizeOf(child);
		subtree.set(id, sum);
		return sum;
	};
	const walk = (id: number, onStack: Set<string>) => {
		const node = byId.get(id);
		if (!node) return;
		const { functionName, url, lineNumber } = node.callFrame;
		const key = `${functionName || '(anonymous)'} ${bucketOf(node).replace(/^package: /, '')}${url ? `:${lineNumber + 1}` : ''}`;
		const fresh = !onStack.has(key);
		if (fresh) {
			inclusive.set(key, (inclusive.get(key) ?? 0) + sizeOf(id));
			onStack.add(key);
		}
		for (const child of node.children ?? []) walk(child, onStack);
		if (fresh) onStack.delete(key);
	};
	if (profile.nodes[0]) walk(profile.nodes[0].id, new Set());
	const busy = [...byBucket.entries()].filter(([b]) => b !== '(idle)').reduce((s, [, ms]) => s + ms, 0);
	const packageMs = [...byBucket.entries()].filter(([b]) => b.startsWith('package: ')).reduce((s, [, ms]) => s + ms, 0);
	const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s (${((ms / Math.max(busy, 1)) * 100).toFixed(1)} %)`;
	const lines = [
		`CPU profile of the n8n main process: ${(total / 1000).toFixed(1)} s wall, ${(busy / 1000).toFixed(2)} s busy, idle ${((byBucket.get('(idle)') ?? 0) / 1000).toFixed(2)} s; this package ${fmt(packageMs)}`,
		...[...byBucket.entries()]
			.filter(([b]) => b !== '(idle)')
			.sort((a, b) => b[1] - a[1])
			.slice(0, top)
			.map(([bucket, ms]) => `  ${bucket}: ${fmt(ms)}`),
		'  hottest functions of this package (self time):',
		...[...ownFunctions.entries()]
			.sort((a, b) => b[1] - a[1])
			.slice(0, 8)
			.map(([name, ms]) => `    ${name}: ${fmt(ms)}`),
		'  most inclusive time (functions of n8n and this package):',
		...[...inclusive.entries()]
			.filter(([name]) => !/^\((root|program|idle|garbage collector)\)|^\(anonymous\) (node internals|other)|^(processTicksAndRejections|listOnTimeout|processTimers)/.test(name))
			.sort((a, b) => b[1] - a[1])
			.slice(0, 30)
			.map(([name, ms]) => `    ${name}: ${fmt(ms)}`),
	];
	return lines.join('\n');
}
