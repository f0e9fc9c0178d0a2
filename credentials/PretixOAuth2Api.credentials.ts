import type { ICredentialTestRequest, ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

/**
 * "Connect with pretix" (OAuth2 authorization code). Register an application in pretix under
 * User settings → Authorized applications → Manage your own apps, with n8n's OAuth callback URL as
 * redirect URI. pretix authenticates the client by HTTP Basic, issues 24 h access tokens and does not
 * rotate refresh tokens; n8n refreshes on 401.
 */
export class PretixOAuth2Api implements ICredentialType {
	name = 'pretixOAuth2Api';

	extends = ['oAuth2Api'];

	// n8n's convention for OAuth2 credentials: "<Service> OAuth2 API", title case.
	displayName = 'Pretix OAuth2 API';

	documentationUrl = 'https://docs.pretix.eu/dev/api/oauth.html';

	icon: Icon = { light: 'file:icons/pretix.svg', dark: 'file:icons/pretix.dark.svg' };

	properties: INodeProperties[] = [
		{
			displayName: 'pretix URL',
			name: 'url',
			type: 'string',
			default: 'https://pretix.eu',
			placeholder: 'https://pretix.eu',
			description: 'Base URL of the pretix instance (pretix.eu or your own installation), without /api/v1',
			required: true,
		},
		{
			displayName: 'Access',
			name: 'accessLevel',
			type: 'options',
			options: [
				{
					name: 'Read',
					value: 'read',
					description: 'Read events and orders',
				},
				{
					name: 'Read and Write',
					value: 'read write',
					description: 'Also needed to register the Pretix Trigger webhook in pretix automatically',
				},
			],
			default: 'read',
		},
		{
			displayName: 'Grant Type',
			name: 'grantType',
			type: 'hidden',
			default: 'authorizationCode',
		},
		{
			displayName: 'Authorization URL',
			name: 'authUrl',
			type: 'hidden',
			default: '={{ String($self["url"] || "https://pretix.eu").trim().replace(/\\/+$/, "").replace(/\\/api(\\/v1)?$/, "") + "/api/v1/oauth/authorize" }}',
			required: true,
		},
		{
			displayName: 'Access Token URL',
			name: 'accessTokenUrl',
			type: 'hidden',
			default: '={{ String($self["url"] || "https://pretix.eu").trim().replace(/\\/+$/, "").replace(/\\/api(\\/v1)?$/, "") + "/api/v1/oauth/token" }}',
			required: true,
		},
		{
			displayName: 'Scope',
			name: 'scope',
			type: 'hidden',
			default: '={{ $self["accessLevel"] === "read write" ? "read write" : "read" }}',
		},
		{
			displayName: 'Auth URI Query Parameters',
			name: 'authQueryParameters',
			type: 'hidden',
			default: '',
		},
		{
			displayName: 'Authentication',
			name: 'authentication',
			type: 'hidden',
			default: 'header',
		},
	];

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ String($credentials.url || "https://pretix.eu").trim().replace(/\\/+$/, "").replace(/\\/api(\\/v1)?$/, "") }}',
			url: '/api/v1/me',
			// n8n's default would take the token along to another origin.
			sendCredentialsOnCrossOriginRedirect: false,
		},
	};
}
