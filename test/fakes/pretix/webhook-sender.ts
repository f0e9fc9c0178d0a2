import http from 'node:http';
import https from 'node:https';

/** pretix's retry delays after each failed attempt, in seconds (src/pretix/api/webhooks.py). */
export const PRETIX_RETRY_SCHEDULE_S = [5, 30, 60, 300, 1200, 3600, 14400, 21600, 43200, 43200, 86400];

export type DeliveryOutcome = 'delivered' | 'disabled' | 'gave-up' | 'stopped';

export interface DeliveryAttempt {
	attempt: number;
	at: number;
	status?: number;
	error?: string;
	/** First KiB of the response body (pretix keeps a call log; bodies are otherwise ignored). */
	body?: string;
}

export interface WebhookDelivery {
	notificationId: unknown;
	targetUrl: string;
	payload: Record<string, unknown>;
	attempts: DeliveryAttempt[];
	outcome?: DeliveryOutcome;
	done: Promise<DeliveryOutcome>;
}

export interface WebhookSenderOptions {
	/** Divides every retry delay: 1 is real time, 1000 turns 5 s into 5 ms. Default 1. */
	timeFactor?: number;
	/** Per-attempt timeout (pretix: 30 s). Not scaled. */
	timeoutMs?: number;
	/** Called when a target answers 410 Gone (pretix disables that webhook). */
	onGone?: (delivery: WebhookDelivery) => void;
}

/** Python's json.dumps with default separators and ensure_ascii, as requests' `json=` sends it. */
export function pythonJsonDumps(value: unknown): string {
	if (value === null || value === undefined) return 'null';
	if (typeof value === 'boolean') return value ? 'true' : 'false';
	if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
	if (typeof value === 'string') {
		return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
	}
	if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
	const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
	return `{${entries.map(([k, v]) => `${pythonJsonDumps(k)}: ${pythonJsonDumps(v)}`).join(', ')}}`;
}

/**
 * Delivers webhook payloads the way pretix does: POST JSON, no redirects followed, success is exactly
 * 2xx, 410 disables, everything else is retried on pretix's schedule (compressible by `timeFactor`).
 */
export class WebhookSender {
	readonly deliveries: WebhookDelivery[] = [];
	private readonly timers = new Set<NodeJS.Timeout>();
	private readonly pending = new Set<Promise<DeliveryOutcome>>();
	private readonly stopCallbacks = new Set<() => void>();
	private stopped = false;

	constructor(private readonly options: WebhookSenderOptions = {}) {}

	send(targetUrl: string, payload: Record<string, unknown>, onGone?: () => void): WebhookDelivery {
		let resolveDone!: (outcome: DeliveryOutcome) => void;
		const done = new Promise<DeliveryOutcome>((resolve) => (resolveDone = resolve));
		const delivery: WebhookDelivery = { notificationId: payload.notification_id, targetUrl, payload, attempts: [], done };
		this.deliveries.push(delivery);
		this.pending.add(done);
		const finish = (outcome: DeliveryOutcome) => {
			if (delivery.outcome) return;
			delivery.outcome = outcome;
			this.pending.delete(done);
			this.stopCallbacks.delete(stopHandler);
			resolveDone(outcome);
		};
		const stopHandler = () => finish('stopped');
		this.stopCallbacks.add(stopHandler);

		const attempt = async (index: number): Promise<void> => {
			if (this.stopped) return finish('stopped');
			const record: DeliveryAttempt = { attempt: index + 1, at: Date.now() };
			delivery.attempts.push(record);
			try {
				const response = await postOnce(targetUrl, pythonJsonDumps(payload), this.options.timeoutMs ?? 30_000);
				record.status = response.status;
				record.body = response.body;
			} catch (error) {
				record.error = (error as Error).message;
			}
			if (record.status !== undefined && record.status >= 200 && record.status <= 299) return finish('delivered');
			if (record.status === 410) {
				onGone?.();
				this.options.onGone?.(delivery);
				return finish('disabled');
			}
			if (index >= PRETIX_RETRY_SCHEDULE_S.length) return finish('gave-up');
			if (this.stopped) return finish('stopped');
			const delayMs = (PRETIX_RETRY_SCHEDULE_S[index] * 1000) / (this.options.timeFactor ?? 1);
			const timer = setTimeout(() => {
				this.timers.delete(timer);
				void attempt(index + 1);
			}, delayMs);
			this.timers.add(timer);
		};
		void attempt(0);
		return delivery;
	}

	/** Resolves when every delivery so far has reached an outcome. */
	async idle(): Promise<void> {
		while (this.pending.size > 0) await Promise.all([...this.pending]);
	}

	stop(): void {
		this.stopped = true;
		for (const timer of this.timers) clearTimeout(timer);
		this.timers.clear();
		for (const callback of [...this.stopCallbacks]) callback();
	}
}

function postOnce(targetUrl: string, body: string, timeoutMs: number): Promise<{ status: number; body: string }> {
	return new Promise((resolve, reject) => {
		let url: URL;
		try {
			url = new URL(targetUrl);
		} catch {
			return reject(new Error('invalid target URL'));
		}
		const headers: Record<string, string> = {
			'User-Agent': 'python-requests/2.32.3',
			'Accept-Encoding': 'gzip, deflate',
			Accept: '*/*',
			Connection: 'keep-alive',
			'Content-Type': 'application/json',
			'Content-Length': String(Buffer.byteLength(body)),
		};
		// requests turns user:password@ in the URL into an Authorization: Basic header.
		if (url.username || url.password) {
			const user = decodeURIComponent(url.username);
			const password = decodeURIComponent(url.password);
			headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
			url.username = '';
			url.password = '';
		}
		const client = url.protocol === 'https:' ? https : http;
		const request = client.request(url, { method: 'POST', headers, timeout: timeoutMs }, (response) => {
			const chunks: Buffer[] = [];
			let size = 0;
			response.on('data', (chunk: Buffer) => {
				if (size < 1024) chunks.push(chunk);
				size += chunk.length;
			});
			response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 1024) }));
			response.on('error', reject);
		});
		request.on('timeout', () => request.destroy(new Error('timeout')));
		request.on('error', (error) => reject(new Error((error as NodeJS.ErrnoException).code ?? error.message)));
		request.end(body);
	});
}
