import type { IHttpRequestOptions } from 'n8n-workflow';

import { toTransportError, type N8nRequestContext } from './n8n-transport';
import { lowerCaseHeaders, type HttpRequest, type HttpResponse, type HttpTransport } from './types';

/**
 * An HttpTransport over n8n's plain `httpRequest`, for the few calls that must not be signed by the
 * credential (the OAuth client authenticates itself, e.g. when revoking its grant). Redirects are
 * not followed: what is sent here must reach the configured host only.
 */
export function n8nPlainTransport(context: N8nRequestContext): HttpTransport {
	return async <T>(request: HttpRequest): Promise<HttpResponse<T>> => {
		const options: IHttpRequestOptions = {
			method: request.method,
			url: request.url,
			qs: request.qs as IHttpRequestOptions['qs'],
			headers: { Accept: 'application/json', ...request.headers },
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
			disableFollowRedirect: true,
			timeout: request.timeoutMs ?? 30_000,
			json: !request.form,
		};
		if (request.form) {
			options.body = new URLSearchParams(request.form).toString();
			options.headers = { ...options.headers, 'Content-Type': 'application/x-www-form-urlencoded' };
		} else if (request.body !== undefined) options.body = request.body as IHttpRequestOptions['body'];
		try {
			const response = (await context.helpers.httpRequest(options)) as { body: unknown; headers: unknown; statusCode: number };
			return { status: response.statusCode, headers: lowerCaseHeaders(response.headers), body: response.body as T };
		} catch (error) {
			throw toTransportError(error);
		}
	};
}
