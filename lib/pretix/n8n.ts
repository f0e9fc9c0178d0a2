/**
 * The one n8n adapter of the pretix library: builds a PretixClient on n8n's authenticated requests
 * (so OAuth2 refresh, proxies and credential handling stay n8n's).
 */
import { n8nTransport, type N8nRequestContext } from '../http/n8n-transport';
import { PretixClient, type PretixClientOptions } from './client';
import { PretixApiError } from './errors';

export const PRETIX_CREDENTIAL_TYPES = ['pretixOAuth2Api', 'pretixApi'] as const;
export type PretixCredentialType = (typeof PRETIX_CREDENTIAL_TYPES)[number];

export function isPretixCredentialType(value: unknown): value is PretixCredentialType {
	return typeof value === 'string' && (PRETIX_CREDENTIAL_TYPES as readonly string[]).includes(value);
}

export async function pretixClientFor(context: N8nRequestContext, credentialType: unknown, options: Partial<Omit<PretixClientOptions, 'transport' | 'instanceUrl'>> = {}): Promise<PretixClient> {
	if (!isPretixCredentialType(credentialType)) {
		throw new PretixApiError('invalid_input', 'Choose how to authenticate with pretix: OAuth2 or a team API token.');
	}
	const credentials = await context.getCredentials(credentialType);
	const url = typeof credentials?.url === 'string' && credentials.url.trim() ? credentials.url : 'https://pretix.eu';
	return new PretixClient({ transport: n8nTransport(context, credentialType, credentials), instanceUrl: url, ...options });
}
