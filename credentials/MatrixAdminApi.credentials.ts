import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

import { USER_AGENT } from '../lib/http/user-agent';

/**
 * A Synapse server admin's access token, for the admin API (registration tokens). Kept apart from
 * the bot's credential on purpose: the bot needs no admin rights, and this token can do everything
 * on the homeserver — give it to the Matrix Admin node only. The test lists the valid registration
 * tokens, which needs both a working token and server-admin rights.
 */
export class MatrixAdminApi implements ICredentialType {
	name = 'matrixAdminApi';

	displayName = 'Matrix Admin API';

	documentationUrl = 'https://element-hq.github.io/synapse/latest/usage/administration/admin_api/registration_tokens.html';

	icon: Icon = { light: 'file:icons/matrixBot.svg', dark: 'file:icons/matrixBot.dark.svg' };

	properties: INodeProperties[] = [
		{
			displayName: 'Homeserver URL',
			name: 'homeserverUrl',
			type: 'string',
			default: 'https://matrix.example.org',
			placeholder: 'https://matrix.example.org',
			description: 'Base URL where the homeserver serves /_synapse/admin (often the client URL; without a path)',
			required: true,
		},
		{
			displayName: 'Admin Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Access token of a Synapse server admin account (not the bot\'s, unless the bot is a server admin)',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: {
			headers: {
				Authorization: '={{"Bearer " + $credentials.accessToken}}',
			},
		},
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ String($credentials.homeserverUrl || "").trim().replace(/\\/+$/, "") }}',
			url: '/_synapse/admin/v1/registration_tokens',
			qs: { valid: 'true' },
			// Like every request to the homeserver (lib/matrix/client.ts): names the package and version.
			headers: { 'User-Agent': USER_AGENT },
			// n8n's default would take the token along to another origin.
			sendCredentialsOnCrossOriginRedirect: false,
		},
		rules: [
			{ type: 'responseCode', properties: { value: 401, message: 'The homeserver rejected the admin access token' } },
			{ type: 'responseCode', properties: { value: 403, message: 'This account is not a Synapse server admin' } },
			{ type: 'responseCode', properties: { value: 404, message: 'No Synapse admin API at this URL (is it Synapse, and is /_synapse/admin reachable?)' } },
		],
	};
}
