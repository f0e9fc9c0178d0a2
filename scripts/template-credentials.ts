/**
 * The credentials the workflows/ templates refer to (by id), with placeholder values for a real
 * set-up, or the demo services' values (`npm start -- --demo`, the templates' e2e suite).
 */
import type { CredentialImport } from '../test/harness/n8n';
import type { DemoServices } from './demo';

/** Credentials the templates refer to, with placeholder values (or the demo services' values). */
export function templateCredentials(services?: DemoServices, n8nApi?: { apiKey: string; baseUrl: string }): CredentialImport[] {
	return [
		{
			id: 'pretixApiCredential',
			name: 'pretix team token',
			type: 'pretixApi',
			data: { url: services?.pretixUrl ?? 'https://pretix.eu', apiToken: services?.pretixToken ?? 'replace-with-your-team-token' },
		},
		{
			// Only the purge's optional "Revoke pretix token" step uses it; connect it to revoke at the end.
			id: 'pretixOAuth2Credential',
			name: 'pretix OAuth2',
			type: 'pretixOAuth2Api',
			data: { url: services?.pretixUrl ?? 'https://pretix.eu', accessLevel: 'read', clientId: '', clientSecret: '' },
		},
		{
			id: 'matrixBotCredential',
			name: 'Matrix bot',
			type: 'matrixBotApi',
			data: {
				homeserverUrl: services?.homeserverUrl ?? 'https://matrix.example.org',
				authMode: 'accessToken',
				accessToken: services?.botToken ?? 'replace-with-the-bot-access-token',
			},
		},
		{
			id: 'dedupeStoreCredential',
			name: 'Invite ledger',
			type: 'dedupeStoreApi',
			data: { backend: 'embedded', hmacSecret: services ? 'demo-ledger-secret' : 'replace-with-a-long-random-secret' },
		},
		{
			// n8n's own API, for the purge and !forget to delete stored executions (Settings → n8n API).
			id: 'n8nApiCredential',
			name: 'n8n API',
			type: 'n8nApi',
			data: { apiKey: n8nApi?.apiKey ?? 'replace-with-an-n8n-api-key', baseUrl: n8nApi?.baseUrl ?? 'http://localhost:5678/api/v1' },
		},
	];
}

