import type { ICredentialType, Icon, INodeProperties } from 'n8n-workflow';

/**
 * Where the invite ledger lives and the secret that keys its hashes. The embedded backend needs
 * nothing else (a SQLite file in the n8n user folder); PostgreSQL or Redis let several n8n
 * processes (queue mode) share one ledger. Tested by the Dedupe Store node's credential test,
 * which opens the backend and pings it.
 */
export class DedupeStoreApi implements ICredentialType {
	name = 'dedupeStoreApi';

	// n8n's convention ends every credential name in "API", web API or not.
	displayName = 'Dedupe Store API';

	documentationUrl =
		'https://github.com/n8n-nodes-pretix-matrix/n8n-nodes-pretix-matrix#dedupe-store';

	icon: Icon = { light: 'file:icons/ledger.svg', dark: 'file:icons/ledger.dark.svg' };

	properties: INodeProperties[] = [
		{
			displayName: 'Backend',
			name: 'backend',
			type: 'options',
			options: [
				{
					name: 'Embedded (SQLite File)',
					value: 'embedded',
					description: 'A file next to n8n; for a single n8n process',
				},
				{
					name: 'PostgreSQL',
					value: 'postgres',
					description: 'For several n8n processes (queue mode)',
				},
				{
					name: 'Redis',
					value: 'redis',
					description: 'For several n8n processes (queue mode)',
				},
			],
			default: 'embedded',
		},
		{
			displayName: 'File Path',
			name: 'filePath',
			type: 'string',
			default: '',
			placeholder: '/home/node/.n8n/pretix-matrix-ledger.sqlite',
			description:
				'Absolute path of the SQLite file. Empty: pretix-matrix-ledger.sqlite in the n8n user folder (~/.n8n).',
			displayOptions: { show: { backend: ['embedded'] } },
		},
		{
			displayName: 'Host',
			name: 'pgHost',
			type: 'string',
			default: 'localhost',
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'Port',
			name: 'pgPort',
			type: 'number',
			default: 5432,
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'Database',
			name: 'pgDatabase',
			type: 'string',
			default: 'postgres',
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'User',
			name: 'pgUser',
			type: 'string',
			default: 'postgres',
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'Password',
			name: 'pgPassword',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'SSL',
			name: 'pgSsl',
			type: 'options',
			options: [
				{ name: 'Disable', value: 'disable' },
				{ name: 'Require', value: 'require' },
				{ name: 'Require (Allow Self-Signed Certificates)', value: 'allowUnauthorized' },
			],
			default: 'disable',
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'Schema',
			name: 'pgSchema',
			type: 'string',
			default: 'public',
			description: 'Schema for the ledger tables; created if missing',
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'Table Prefix',
			name: 'pgTablePrefix',
			type: 'string',
			default: 'pretix_matrix_',
			description:
				'Prefix of the table names (letters, digits, _), so several ledgers can share a schema',
			displayOptions: { show: { backend: ['postgres'] } },
		},
		{
			displayName: 'Host',
			name: 'redisHost',
			type: 'string',
			default: 'localhost',
			displayOptions: { show: { backend: ['redis'] } },
		},
		{
			displayName: 'Port',
			name: 'redisPort',
			type: 'number',
			default: 6379,
			displayOptions: { show: { backend: ['redis'] } },
		},
		{
			displayName: 'User',
			name: 'redisUsername',
			type: 'string',
			default: '',
			description: 'ACL user name; empty for the default user',
			displayOptions: { show: { backend: ['redis'] } },
		},
		{
			displayName: 'Password',
			name: 'redisPassword',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { backend: ['redis'] } },
		},
		{
			displayName: 'Database Number',
			name: 'redisDatabase',
			type: 'number',
			default: 0,
			displayOptions: { show: { backend: ['redis'] } },
		},
		{
			displayName: 'TLS',
			name: 'redisTls',
			type: 'boolean',
			default: false,
			displayOptions: { show: { backend: ['redis'] } },
		},
		{
			displayName: 'Key Prefix',
			name: 'redisKeyPrefix',
			// Not a secret, though its name contains "key".
			type: 'string',
			default: 'pretix-matrix:',
			description: 'Prefix of every key the ledger writes',
			displayOptions: { show: { backend: ['redis'] } },
		},
		{
			displayName: 'HMAC Secret',
			name: 'hmacSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description:
				"Random secret of at least 32 characters that keys the hashes of attendees, Matrix IDs and order codes; generate one with <code>openssl rand -base64 32</code> or <code>node -e \"console.log(require('crypto').randomBytes(32).toString('base64url'))\"</code>. Placeholders and regular strings are refused. To change it, put the old one into Previous Secret.",
		},
		{
			displayName: 'Previous Secret (for Rotation)',
			name: 'hmacPreviousSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'While changing the HMAC Secret: the secret used until now. Entries hashed with it are still found (nobody is invited twice, look-up and erasure find everyone). Remove it once every event recorded under it has been purged.',
		},
		{
			displayName: 'Retention (Days)',
			name: 'retentionDays',
			type: 'number',
			typeOptions: { minValue: 0 },
			default: 0,
			description:
				'Delete ledger entries this many days after their last change (only counts are kept). 0 keeps them until the event is purged.',
		},
	];
}
