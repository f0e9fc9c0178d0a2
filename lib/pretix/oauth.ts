import type { HttpTransport } from '../http/types';
import { normalizeInstanceUrl } from './client';
import { PretixApiError } from './errors';

/**
 * Revoking the OAuth grant at the end of an event (pretix's `/api/v1/oauth/revoke_token`,
 * django-oauth-toolkit's RFC 7009 endpoint; the client authenticates with HTTP Basic like at the
 * token endpoint). Revoking the refresh token also ends the access tokens issued with it; the access
 * token is revoked first so that nothing stays usable if the second call fails.
 */
export interface OAuthGrant {
	instanceUrl: string;
	clientId: string;
	clientSecret: string;
	accessToken?: string;
	refreshToken?: string;
}

export interface RevokeResult {
	/** Which tokens pretix confirmed as revoked (RFC 7009 answers 200 for unknown tokens too). */
	revoked: Array<'access_token' | 'refresh_token'>;
}

export async function revokeOAuthGrant(transport: HttpTransport, grant: OAuthGrant): Promise<RevokeResult> {
	const base = normalizeInstanceUrl(grant.instanceUrl);
	if (!grant.clientId || !grant.clientSecret) {
		throw new PretixApiError('invalid_input', 'The pretix OAuth2 credential has no client ID and secret; nothing can be revoked.');
	}
	const tokens: Array<['access_token' | 'refresh_token', string | undefined]> = [
		['access_token', grant.accessToken],
		['refresh_token', grant.refreshToken],
	];
	if (!tokens.some(([, token]) => token)) {
		throw new PretixApiError('invalid_input', 'The pretix OAuth2 credential is not connected; there is no token to revoke.');
	}
	const authorization = `Basic ${Buffer.from(`${grant.clientId}:${grant.clientSecret}`).toString('base64')}`;
	const result: RevokeResult = { revoked: [] };
	for (const [hint, token] of tokens) {
		if (!token) continue;
		const response = await transport({
			method: 'POST',
			url: `${base}/api/v1/oauth/revoke_token`,
			headers: { Authorization: authorization },
			form: { token, token_type_hint: hint },
		});
		if (response.status === 401 || response.status === 403) {
			throw new PretixApiError('unauthorized', `pretix refused to revoke the ${hint.replace('_', ' ')}: the client ID or secret is wrong (${response.status}).`, { status: response.status });
		}
		if (response.status < 200 || response.status >= 300) {
			throw new PretixApiError('bad_response', `pretix did not revoke the ${hint.replace('_', ' ')} (HTTP ${response.status}); try again later.`, { status: response.status });
		}
		result.revoked.push(hint);
	}
	return result;
}
