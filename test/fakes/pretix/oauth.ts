/**
 * Which redirect URIs an OAuth application may use. pretix configures django-oauth-toolkit with
 * `OAUTH2_PROVIDER['ALLOWED_REDIRECT_URI_SCHEMES'] = ['https'] if not DEBUG else ['http', 'https']`
 * (`src/pretix/settings.py`): a production pretix refuses to register an `http://` redirect URI
 * (the application model's URI validator) and refuses to redirect to one (the authorize view's
 * `HttpResponseUriRedirect` checks the scheme against the same list).
 *
 * - `false` (default): production pretix, https only.
 * - `'localhost'`: test-only relaxation — https, plus `http://` to a loopback host (localhost,
 *   127.0.0.0/8, [::1]), for an n8n running on the test machine. No real pretix has this mode.
 * - `true`: a DEBUG pretix, any http URI.
 */
export type HttpRedirectPolicy = boolean | 'localhost';

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

export function redirectUriAllowed(uri: string, policy: HttpRedirectPolicy = false): boolean {
	let url: URL;
	try {
		url = new URL(uri);
	} catch {
		return false;
	}
	if (url.protocol === 'https:') return true;
	if (url.protocol !== 'http:') return false;
	if (policy === true) return true;
	return policy === 'localhost' && LOOPBACK.test(url.hostname);
}
