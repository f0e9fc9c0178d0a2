import type {
	ICredentialDataDecryptedObject,
	ICredentialTestRequest,
	ICredentialType,
	IHttpRequestHelper,
	IHttpRequestOptions,
	Icon,
	INodeProperties,
} from 'n8n-workflow';

import { USER_AGENT } from '../lib/http/user-agent';

/**
 * The bot's Matrix account: a homeserver URL plus either an access token, or a user and password.
 * With a password the credential logs in once (`preAuthentication`), keeps the token in a hidden
 * expirable field and reuses it; n8n logs in again only when the homeserver answers 401. A fixed
 * device ID keeps every login on one device instead of creating a new one each time (reference §2.2).
 */
export class MatrixBotApi implements ICredentialType {
	name = 'matrixBotApi';

	displayName = 'Matrix Bot API';

	documentationUrl = 'https://spec.matrix.org/latest/client-server-api/#login';

	icon: Icon = { light: 'file:icons/matrixBot.svg', dark: 'file:icons/matrixBot.dark.svg' };

	properties: INodeProperties[] = [
		{
			displayName: 'Homeserver URL',
			name: 'homeserverUrl',
			type: 'string',
			default: 'https://matrix.example.org',
			placeholder: 'https://matrix.example.org',
			description:
				'Client-server API base URL of the homeserver the bot account lives on (without /_matrix)',
			required: true,
		},
		{
			displayName: 'Authentication',
			name: 'authMode',
			type: 'options',
			options: [
				{
					name: 'Access Token',
					value: 'accessToken',
					description: 'A token of the bot account (e.g. from Element: Settings → Help & About)',
				},
				{
					name: 'User and Password',
					value: 'password',
					description: 'Log in once with the password and reuse the token',
				},
			],
			default: 'accessToken',
		},
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			displayOptions: { show: { authMode: ['accessToken'] } },
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: '',
			placeholder: '@bot:example.org',
			description: 'The bot account: its full Matrix ID or only the user name',
			required: true,
			displayOptions: { show: { authMode: ['password'] } },
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			displayOptions: { show: { authMode: ['password'] } },
		},
		{
			displayName: 'Device ID',
			name: 'deviceId',
			type: 'string',
			default: 'N8N_PRETIX_BOT',
			description:
				'Every login reuses this device, so the account does not collect a new device per login',
			displayOptions: { show: { authMode: ['password'] } },
		},
		{
			displayName: 'Crypto Store Passphrase',
			name: 'cryptoStorePassphrase',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				"Optional: seals the file of the bot device's end-to-end encryption store (encrypted rooms only). Keep it: a store cannot be opened without the passphrase it was made with.",
		},
		{
			displayName: 'Session Token',
			name: 'sessionToken',
			type: 'hidden',
			// A bearer token: stored and shown as a secret, like the access token.
			typeOptions: { expirable: true, password: true },
			default: '',
		},
	];

	/** Runs when `sessionToken` is empty or a request got 401: logs in once, n8n stores the token. */
	async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject) {
		if (credentials.authMode !== 'password') return {};
		const base = String(credentials.homeserverUrl ?? '')
			.trim()
			.replace(/\/+$/, '');
		const response = (await this.helpers.httpRequest({
			method: 'POST',
			url: `${base}/_matrix/client/v3/login`,
			// Like every request to the homeserver (lib/matrix/client.ts): names the package and version.
			headers: { 'User-Agent': USER_AGENT },
			body: {
				type: 'm.login.password',
				identifier: { type: 'm.id.user', user: String(credentials.user ?? '').trim() },
				password: String(credentials.password ?? ''),
				device_id: String(credentials.deviceId || 'N8N_PRETIX_BOT'),
				initial_device_display_name: 'n8n pretix-matrix bot',
			},
			json: true,
			// The body carries the password: a redirect is an error, never followed (elsewhere or not).
			disableFollowRedirect: true,
		})) as { access_token?: unknown };
		if (typeof response?.access_token !== 'string' || !response.access_token) {
			throw new Error('The homeserver accepted the login but returned no access token');
		}
		return { sessionToken: response.access_token };
	}

	/**
	 * A function, not n8n's declarative form: that one is an expression, which n8n 2.40 evaluates in
	 * its isolated expression engine on every request (a tenth of the CPU of a webhook burst).
	 */
	async authenticate(
		credentials: ICredentialDataDecryptedObject,
		requestOptions: IHttpRequestOptions,
	): Promise<IHttpRequestOptions> {
		const token = credentials.authMode === 'password' ? credentials.sessionToken : credentials.accessToken;
		return {
			...requestOptions,
			headers: { ...requestOptions.headers, Authorization: `Bearer ${String(token ?? '')}` },
		};
	}

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ String($credentials.homeserverUrl || "").trim().replace(/\\/+$/, "") }}',
			url: '/_matrix/client/v3/account/whoami',
			headers: { 'User-Agent': USER_AGENT },
			// n8n's default would take the token along to another origin.
			sendCredentialsOnCrossOriginRedirect: false,
		},
		rules: [
			{
				type: 'responseCode',
				properties: { value: 401, message: 'The homeserver rejected the access token' },
			},
			{
				type: 'responseCode',
				properties: { value: 403, message: 'The homeserver rejected the user name or password' },
			},
		],
	};
}
