/**
 * What holds the n8n main process's memory in the middle of a big batch (issue 16): V8's sampling
 * heap profiler over the inspector (./inspector.ts). The profile taken at stopSampling keeps only
 * the sampled allocations still alive then, so after a full GC it charges the live heap to the
 * code that allocated it; process.memoryUsage() after the same GC tells live heap from garbage
 * the peak RSS merely had not collected yet.
 */
import { bucketOf } from './cpu-profile';
import { Inspector } from './inspector';

interface CallFrame {
	functionName: string;
	url: string;
	lineNumber: number;
}
interface SamplingNode {
	id: number;
	callFrame: CallFrame;
	selfSize: number;
	children: SamplingNode[];
}
export interface HeapProfile {
	head: SamplingNode;
}
export interface MemoryUsage {
	rss: number;
	heapTotal: number;
	heapUsed: number;
	external: number;
	arrayBuffers: number;
}

export class HeapSampler {
	private constructor(private readonly inspector: Inspector) {}

	static async attach(pid: number): Promise<HeapSampler> {
		const inspector = await Inspector.attach(pid);
		await inspector.send('HeapProfiler.enable');
		return new HeapSampler(inspector);
	}

	/** One sample per 64 KiB allocated on average: cheap enough to leave on during a batch. */
	start(): Promise<unknown> {
		return this.inspector.send('HeapProfiler.startSampling', { samplingInterval: 65_536 });
	}

	/** A full GC, then the memory figures and the live allocations since start(). */
	async liveNow(): Promise<{ memory: MemoryUsage; profile: HeapProfile }> {
		await this.inspector.send('HeapProfiler.collectGarbage');
		const memory = await this.inspector.evaluate<MemoryUsage>('process.memoryUsage()');
		const { profile } = await this.inspector.send<{ profile: HeapProfile }>('HeapProfiler.stopSampling');
		return { memory, profile };
	}

	close(): void {
		this.inspector.close();
	}
}

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

function frameName(frame: CallFrame): string {
	const bucket = bucketOf({ callFrame: frame }).replace(/^package: /, '');
	return `${frame.functionName || '(anonymous)'} ${bucket}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
}

/** Live bytes by the package that allocated them, and the allocation sites (with three callers) that hold most. */
export function summarizeHeap(memory: MemoryUsage, profile: HeapProfile, top = 12): string {
	const byBucket = new Map<string, number>();
	const bySite = new Map<string, number>();
	let total = 0;
	const walk = (node: SamplingNode, stack: CallFrame[]) => {
		const here = [...stack, node.callFrame];
		if (node.selfSize > 0) {
			total += node.selfSize;
			const bucket = bucketOf(node);
			byBucket.set(bucket, (byBucket.get(bucket) ?? 0) + node.selfSize);
			// The leaf and its nearest callers that are code (not node internals or V8).
			const callers = here
				.slice(0, -1)
				.reverse()
				.filter((f) => f.url && !f.url.startsWith('node:'))
				.slice(0, 3);
			const site = [node.callFrame, ...callers].map(frameName).join(' ← ');
			bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
		}
		for (const child of node.children) walk(child, here);
	};
	walk(profile.head, []);
	const share = (bytes: number) => `${mib(bytes)} (${((bytes / Math.max(total, 1)) * 100).toFixed(1)} %)`;
	return [
		`live after a full GC: heap used ${mib(memory.heapUsed)} of ${mib(memory.heapTotal)}, external ${mib(memory.external)}, RSS ${mib(memory.rss)}; sampled live allocations since the batch began ${mib(total)}`,
		'  by the package that allocated them:',
		...[...byBucket].sort((a, b) => b[1] - a[1]).slice(0, top).map(([bucket, bytes]) => `    ${bucket}: ${share(bytes)}`),
		'  allocation sites holding most (site ← callers):',
		...[...bySite].sort((a, b) => b[1] - a[1]).slice(0, top).map(([site, bytes]) => `    ${share(bytes)}: ${site}`),
	].join('\n');
}
