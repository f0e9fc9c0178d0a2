import {
	decideRedirect,
	isRedirect,
	MAX_REDIRECTS,
	methodAfterRedirect,
	tooManyRedirects,
	unfollowedRedirect,
} from './redirect';
import {
	lowerCaseHeaders,
	TransportError,
	type HttpMethod,
	type HttpRequest,
	type HttpResponse,
	type HttpTransport,
} from './types';

/**
 * An HttpTransport over the global fetch, for code that runs outside a node execution (tests,
 * benchmarks, the e2e harness, the chat-command listener). `authorization` is added to every
 * request when given. Redirects are followed only within the origin (see redirect.ts).
 */
export function fetchTransport(
	authorization?: () => string | undefined,
	options: { signal?: AbortSignal } = {},
): HttpTransport {
	return async <T>(request: HttpRequest): Promise<HttpResponse<T>> => {
		const url = new URL(request.url);
		for (const [key, value] of Object.entries(request.qs ?? {})) {
			if (value === undefined) continue;
			if (Array.isArray(value)) for (const v of value) url.searchParams.append(key, String(v));
			else url.searchParams.set(key, String(value));
		}
		const headers: Record<string, string> = { Accept: 'application/json', ...request.headers };
		const auth = authorization?.();
		if (auth) headers.Authorization = auth;
		let body: string | undefined;
		if (request.form) {
			body = new URLSearchParams(request.form).toString();
			headers['Content-Type'] = 'application/x-www-form-urlencoded';
		} else if (request.body !== undefined) {
			body = JSON.stringify(request.body);
			headers['Content-Type'] = 'application/json';
		}
		// The owner's signal (a listener closing) ends requests in flight too, not only the timeout.
		const timeout = AbortSignal.timeout(request.timeoutMs ?? 30_000);
		const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
		let target = url.toString();
		let method: HttpMethod = request.method;
		for (let hop = 0; ; hop++) {
			const response = await send(target, method, headers, body, signal);
			const location = response.headers.location;
			if (!isRedirect(response.status)) return response as HttpResponse<T>;
			if (hop >= MAX_REDIRECTS) return tooManyRedirects<T>(response);
			const decision = decideRedirect(target, location);
			if (!decision.follow) return unfollowedRedirect<T>(response, decision);
			const next = methodAfterRedirect(response.status, method);
			method = next.method;
			if (!next.keepBody) {
				body = undefined;
				delete headers['Content-Type'];
			}
			target = decision.url;
		}
	};
}

async function send(
	url: string,
	method: HttpMethod,
	headers: Record<string, string>,
	body: string | undefined,
	signal: AbortSignal,
): Promise<HttpResponse<unknown>> {
	let response: Response;
	try {
		// Node's fetch hands a 3xx back as it is with redirect: 'manual' (no opaque response).
		response = await fetch(url, { method, headers, body, signal, redirect: 'manual' });
	} catch (error) {
		const code =
			(error as { cause?: { code?: string }; name?: string }).cause?.code ??
			(error as { name?: string }).name ??
			'ENETWORK';
		// eslint-disable-next-line @n8n/community-nodes/require-node-api-error -- lib has no node: callers map it (CONTRIBUTING.md)
		throw new TransportError(`No response from the server (${code})`, code);
	}
	const text = await response.text();
	let parsed: unknown = text;
	try {
		parsed = text ? JSON.parse(text) : undefined;
	} catch {
		// not JSON: the client sees the raw text
	}
	return {
		status: response.status,
		headers: lowerCaseHeaders(Object.fromEntries(response.headers)),
		body: parsed,
	};
}

/**
 * A fetch for libraries that make their own requests with a token in the headers (matrix-js-sdk in
 * the listener): redirects are followed only within the origin, like fetchTransport; any other
 * redirect comes back to the library as the 3xx it is, without being followed.
 */
export function sameOriginFetch(base: typeof fetch = fetch): typeof fetch {
	return async (input, init) => {
		let target = input instanceof Request ? input.url : String(input);
		let method = (
			(init?.method ?? (input instanceof Request ? input.method : 'GET')) as string
		).toUpperCase() as HttpMethod;
		let body = init?.body;
		for (let hop = 0; ; hop++) {
			const response = await base(target, { ...init, method, body, redirect: 'manual' });
			if (!isRedirect(response.status) || hop >= MAX_REDIRECTS) return response;
			const decision = decideRedirect(target, response.headers.get('location') ?? undefined);
			if (!decision.follow) return response;
			await response.body?.cancel().catch(() => undefined);
			const next = methodAfterRedirect(response.status, method);
			method = next.method;
			if (!next.keepBody) body = undefined;
			target = decision.url;
		}
	};
}
