import { lowerCaseHeaders, TransportError, type HttpRequest, type HttpResponse, type HttpTransport } from './types';

/**
 * An HttpTransport over the global fetch, for code that runs outside a node execution (tests,
 * benchmarks, the e2e harness). `authorization` is added to every request when given.
 */
export function fetchTransport(authorization?: () => string | undefined): HttpTransport {
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
		let response: Response;
		try {
			response = await fetch(url, {
				method: request.method,
				headers,
				body,
				signal: AbortSignal.timeout(request.timeoutMs ?? 30_000),
			});
		} catch (error) {
			const code = (error as { cause?: { code?: string }; name?: string }).cause?.code ?? (error as { name?: string }).name ?? 'ENETWORK';
			throw new TransportError(`No response from the server (${code})`, code);
		}
		const text = await response.text();
		let parsed: unknown = text;
		try {
			parsed = text ? JSON.parse(text) : undefined;
		} catch {
			// not JSON: the client sees the raw text
		}
		return { status: response.status, headers: lowerCaseHeaders(Object.fromEntries(response.headers)), body: parsed as T };
	};
}
