/**
 * The credentials the workflows/ templates refer to (by id), with placeholder values for a real
 * set-up, or the demo services' values (`npm start -- --demo`, the templates' e2e suite).
 */
import { randomBytes } from 'node:crypto';

import type { CredentialImport } from '../test/harness/n8n';
import type { DemoServices } from './demo';

/**
 * The ledger secret the test suites use against the fake services (they read the ledger back with
 * it). `npm start` never uses it: it generates a secret per data folder (scripts/start.ts).
 */
export const DEMO_LEDGER_SECRET = 'vY_9Ugimp-qZ7NQwtioGCpWgVCpmsShm';

export interface TemplateSecrets {
	/** The ledger's HMAC secret (default: DEMO_LEDGER_SECRET with the demo services, else a random one). */
	ledgerSecret?: string;
	/** n8n's own API (key and base URL), for deleting stored executions; a placeholder when absent. */
	n8nApi?: { apiKey: string; baseUrl: string };
	/** A Synapse server admin's access token (registration tokens); a placeholder when absent. */
	matrixAdminToken?: string;
	/** An SMTP server without TLS (the e2e suite's sink); placeholders when absent. */
	smtp?: { host: string; port: number };
}

/** Credentials the templates refer to, with placeholder values (or the demo services' values). */
export function templateCredentials(
	services?: DemoServices,
	secrets: TemplateSecrets = {},
): CredentialImport[] {
	// No placeholder ships: without the demo services and without a given secret, a fresh random one.
	const ledgerSecret =
		secrets.ledgerSecret ?? (services ? DEMO_LEDGER_SECRET : randomBytes(32).toString('base64url'));
	const n8nApi = secrets.n8nApi;
	return [
		{
			id: 'pretixApiCredential',
			name: 'pretix team token',
			type: 'pretixApi',
			data: {
				url: services?.pretixUrl ?? 'https://pretix.eu',
				apiToken: services?.pretixToken ?? 'replace-with-your-team-token',
			},
		},
		{
			// Only the purge's optional "Revoke pretix token" step uses it; connect it to revoke at the end.
			id: 'pretixOAuth2Credential',
			name: 'pretix OAuth2',
			type: 'pretixOAuth2Api',
			data: {
				url: services?.pretixUrl ?? 'https://pretix.eu',
				accessLevel: 'read',
				clientId: services?.pretixOAuthClient.clientId ?? '',
				clientSecret: services?.pretixOAuthClient.clientSecret ?? '',
			},
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
			data: { backend: 'embedded', hmacSecret: ledgerSecret },
		},
		{
			// n8n's own API, for the purge and !forget to delete stored executions (Settings → n8n API).
			id: 'n8nApiCredential',
			name: 'n8n API',
			type: 'n8nApi',
			data: { apiKey: n8nApi?.apiKey ?? 'replace-with-an-n8n-api-key', baseUrl: n8nApi?.baseUrl ?? 'http://localhost:5678/api/v1' },
		},
		{
			// A Synapse server admin's token, for registration tokens (not the bot's, unless the bot is one).
			id: 'matrixAdminCredential',
			name: 'Matrix admin',
			type: 'matrixAdminApi',
			data: {
				homeserverUrl: services?.homeserverUrl ?? 'https://matrix.example.org',
				accessToken: secrets.matrixAdminToken ?? 'replace-with-a-server-admin-access-token',
			},
		},
		{
			// n8n's own SMTP credential (Send Email), for registration tokens sent to attendees.
			id: 'smtpCredential',
			name: 'SMTP',
			type: 'smtp',
			data: secrets.smtp
				? { host: secrets.smtp.host, port: secrets.smtp.port, secure: false, disableStartTls: true, user: '', password: '' }
				: { host: 'smtp.example.org', port: 587, secure: false, disableStartTls: false, user: 'replace-with-the-smtp-user', password: 'replace-with-the-smtp-password' },
		},
	];
}
