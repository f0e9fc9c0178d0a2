import { createHook } from 'node:async_hooks';

/**
 * Tracks timers and sockets created from now on; `alive()` lists those still keeping the process
 * alive (ref'd and not yet destroyed), with the type. Used to prove a client closes cleanly.
 */
export function trackHandles() {
	const live = new Map<
		number,
		{ type: string; resource: { hasRef?: () => boolean; _destroyed?: boolean }; stack: string }
	>();
	const hook = createHook({
		init(id, type, _trigger, resource) {
			if (type === 'Timeout' || type.startsWith('TCP'))
				live.set(id, {
					type,
					resource: resource as { hasRef?: () => boolean; _destroyed?: boolean },
					stack: new Error().stack ?? '',
				});
		},
		destroy(id) {
			live.delete(id);
		},
	}).enable();
	// A fired timer is `_destroyed` before its destroy hook runs.
	// Jest's own reporter timers (in-band runs) are not ours to judge.
	const isAlive = (h: {
		resource: { hasRef?: () => boolean; _destroyed?: boolean };
		stack: string;
	}) =>
		!h.resource._destroyed &&
		(h.resource.hasRef?.() ?? true) &&
		!/node_modules\/(@jest\/|jest-)/.test(h.stack);
	return {
		alive(): string[] {
			return [...live.values()].filter(isAlive).map((h) => h.type);
		},
		/**
		 * The handles still alive once closing is over: sockets close asynchronously, later on a busy
		 * machine, so this waits (up to `timeoutMs`) until none is left, then reports what is.
		 */
		async settled(timeoutMs = 10_000): Promise<string[]> {
			const deadline = Date.now() + timeoutMs;
			while (this.alive().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50).unref());
			return this.alive();
		},
		/** Where each live handle was created (for diagnosing a failure). */
		stacks(): string[] {
			return [...live.values()].filter(isAlive).map((h) => h.stack);
		},
		stop(): void {
			hook.disable();
		},
	};
}
