import { createHash } from 'node:crypto';

import { backoffMs, sleepMs } from '../../lib/http/retry';

/** How long a chat command whose execution n8n could not start is offered to n8n again. */
export const HAND_OFF_WINDOW_MS = 10 * 60_000;

/** The part of n8n's IDeferredPromise the hand-off reads: settled by n8n. */
export interface Deferred {
	promise: Promise<unknown>;
}

export interface HandOffOptions<D extends Deferred> {
	/** Hands the command to n8n once (`this.emit(data, undefined, done, key)`). */
	emit: (done: D) => void;
	createDeferred: () => D;
	/** Aborted when the trigger closes (workflow unpublished, n8n shutting down). */
	signal: AbortSignal;
	warn: (message: string) => void;
	windowMs?: number;
	now?: () => number;
	/** Backoff before attempt `attempt + 1` (default 1 s doubling, capped at 30 s). */
	backoff?: (attempt: number) => number;
}

export type HandOffOutcome = 'started' | 'cancelled' | 'closed' | 'gaveUp';

/**
 * n8n's key for "this trigger already started an execution for this event": one per workflow,
 * trigger node and Matrix event. Hashed, because n8n stores it in a 255-character column and event
 * IDs may be that long on their own.
 */
export function commandDeduplicationKey(
	workflowId: string,
	nodeId: string,
	eventId: string,
): string {
	const digest = createHash('sha256').update(`${workflowId}\n${nodeId}\n${eventId}`).digest('hex');
	return `matrix-command:${digest}`;
}

/**
 * Hands one chat command to n8n until n8n has started an execution for it.
 *
 * An active trigger's `emit` only queues the work: n8n then loads the published workflow, checks
 * credentials and creates the execution (n8n 2.40 `TriggerExecutionContextFactory.emit` in
 * `workflows/triggers/trigger-execution-context.factory.js`). When one of those steps fails — under
 * load, e.g. `timeout exceeded when trying to connect` from n8n's own database pool — n8n logs the
 * error and nothing else happens: no execution, no reply, and the listener has already marked the
 * event as handled. n8n reports that failure only through the `donePromise` argument of `emit`
 * (`settleDonePromise`: rejected when starting failed; resolved with the run once it finished, or
 * with `undefined` when n8n refused a duplicate), so we pass one and offer the command again with
 * backoff while it rejects.
 *
 * The caller passes a deduplication key with every attempt: n8n keeps it unique across executions
 * and refuses a second execution with the same key (`ExecutionPersistence.create`), so an attempt
 * that n8n did start after all is never run twice. A rejection that says the execution was
 * cancelled is final.
 */
export async function handOff<D extends Deferred>(
	options: HandOffOptions<D>,
): Promise<HandOffOutcome> {
	const now = options.now ?? Date.now;
	const backoff = options.backoff ?? ((attempt: number) => backoffMs(attempt, 1000, 30_000));
	const deadline = now() + (options.windowMs ?? HAND_OFF_WINDOW_MS);
	for (let attempt = 1; ; attempt++) {
		const done = options.createDeferred();
		options.emit(done);
		try {
			await done.promise;
			return 'started';
		} catch (error) {
			// n8n's own test for a cancelled execution (WorkflowRunner.processError).
			if (/cancel/i.test(String((error as Error)?.message ?? ''))) return 'cancelled';
			if (options.signal.aborted) return 'closed';
			const reason = describe(error);
			const waitMs = backoff(attempt - 1);
			if (now() + waitMs > deadline) {
				options.warn(
					`n8n could not start the workflow for a chat command (${reason}); gave up after ${attempt} attempts`,
				);
				return 'gaveUp';
			}
			options.warn(
				`n8n could not start the workflow for a chat command (${reason}); offering it again in ${Math.ceil(waitMs / 1000)} s (attempt ${attempt})`,
			);
			await sleepMs(waitMs, options.signal);
			if (options.signal.aborted) return 'closed';
		}
	}
}

/** The error's class and first line, short: n8n's errors name database or queue faults, not people. */
function describe(error: unknown): string {
	const e = error as Error | undefined;
	const message = String(e?.message ?? e ?? 'unknown error')
		.split('\n')[0]
		.slice(0, 120);
	return e?.name && e.name !== 'Error' ? `${e.name}: ${message}` : message;
}
