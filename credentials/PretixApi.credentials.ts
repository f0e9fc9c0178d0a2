import type { ICredentialDataDecryptedObject, ICredentialTestRequest, ICredentialType, IHttpRequestOptions, Icon, INodeProperties } from 'n8n-workflow';

/**
 * A pretix team API token (Organizer → Teams → API tokens). It acts with the team's permissions:
 * the team needs "can view orders" for attendees and "can change organizer settings" for webhook
 * registration.
 */
export class PretixApi implements ICredentialType {
	name = 'pretixApi';

	// n8n's convention: title case, ending in "API" (as n8n's own "Airtable Personal Access Token API").
	displayName = 'Pretix Team Token API';

	documentationUrl = 'https://docs.pretix.eu/dev/api/tokenauth.html';

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
			displayName: 'API Token',
			name: 'apiToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Team API token from Organizer → Teams → API tokens',
		},
	];

	/** A function: n8n's declarative form is an expression, evaluated in its isolated engine on every request. */
	async authenticate(credentials: ICredentialDataDecryptedObject, requestOptions: IHttpRequestOptions): Promise<IHttpRequestOptions> {
		return { ...requestOptions, headers: { ...requestOptions.headers, Authorization: `Token ${String(credentials.apiToken ?? '')}` } };
	}

	// Team tokens cannot read /api/v1/me; the organizer list is readable by every team token.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ String($credentials.url || "https://pretix.eu").trim().replace(/\\/+$/, "").replace(/\\/api(\\/v1)?$/, "") }}',
			url: '/api/v1/organizers/',
			// n8n's default would take the token along to another origin.
			sendCredentialsOnCrossOriginRedirect: false,
		},
	};
}
