import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { n8nPlainTransport } from '../../../../lib/http/n8n-plain-transport';
import { PretixApiError, revokeOAuthGrant, type PretixClient } from '../../../../lib/pretix';

export const description: INodeProperties[] = [
	{
		displayName:
			'Revokes the access and refresh token of the pretix OAuth2 credential in pretix. A team API token cannot be revoked through the API: deactivate it in pretix (Organizer → Teams).',
		name: 'revokeNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { resource: ['oauthToken'], operation: ['revoke'] } },
	},
];

/** One item: which tokens pretix revoked. Runs once, whatever the input. */
export async function execute(this: IExecuteFunctions, _client: PretixClient, itemIndex: number): Promise<INodeExecutionData[]> {
	if (this.getNodeParameter('authentication', itemIndex) !== 'pretixOAuth2Api') {
		throw new PretixApiError('invalid_input', 'Only an OAuth2 connection can be revoked here; deactivate a team API token in pretix under Organizer → Teams.');
	}
	const credentials = (await this.getCredentials('pretixOAuth2Api')) as IDataObject;
	const token = (credentials.oauthTokenData ?? {}) as IDataObject;
	const result = await revokeOAuthGrant(n8nPlainTransport(this), {
		instanceUrl: String(credentials.url ?? 'https://pretix.eu'),
		clientId: String(credentials.clientId ?? ''),
		clientSecret: String(credentials.clientSecret ?? ''),
		accessToken: typeof token.access_token === 'string' ? token.access_token : undefined,
		refreshToken: typeof token.refresh_token === 'string' ? token.refresh_token : undefined,
	});
	return [{ json: { revoked: result.revoked }, pairedItem: { item: itemIndex } }];
}
