/**
 * The one HTTP seam every shared client (pretix, Matrix) talks through. Nodes build it from n8n's
 * `httpRequestWithAuthentication` (see n8n-transport.ts) so credentials, OAuth2 refresh and proxies
 * stay n8n's business; tests and benchmarks may build it from plain fetch.
 *
 * A transport resolves for every HTTP status (the client decides what a 4xx/5xx means) and rejects
 * only when no response arrived at all (DNS, refused connection, timeout), with a TransportError.
 */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export type QueryValue = string | number | boolean | Array<string | number>;

export interface HttpRequest {
	method: HttpMethod;
	/** Absolute URL. */
	url: string;
	qs?: Record<string, QueryValue | undefined>;
	headers?: Record<string, string>;
	/** Sent as JSON unless `form` is set. */
	body?: unknown;
	/** Sent as application/x-www-form-urlencoded. */
	form?: Record<string, string>;
	timeoutMs?: number;
}

export interface HttpResponse<T = unknown> {
	status: number;
	/** Header names in lower case. */
	headers: Record<string, string | undefined>;
	body: T;
}

export type HttpTransport = <T = unknown>(request: HttpRequest) => Promise<HttpResponse<T>>;

/** No HTTP response at all: the peer is unreachable, refused, or timed out. Safe to retry. */
export class TransportError extends Error {
	readonly code: string;

	constructor(message: string, code: string) {
		super(message);
		this.name = 'TransportError';
		this.code = code;
	}
}

export function lowerCaseHeaders(headers: unknown): Record<string, string | undefined> {
	const out: Record<string, string | undefined> = {};
	if (!headers || typeof headers !== 'object') return out;
	for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
		if (value === undefined || value === null) continue;
		out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
	}
	return out;
}
