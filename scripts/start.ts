/**
 * `npm start`: a real n8n 2.x on http://localhost:5678 (embedded SQLite) with this package installed
 * exactly as n8n installs community packages, and the templates from workflows/ imported.
 *
 *   npm start                  n8n with the templates and placeholder credentials (fill them in)
 *   npm start -- --demo        also starts a fake pretix and a fake homeserver, points the
 *                              credentials at them and publishes the templates: the whole flow runs
 *   npm start -- --reimport    imports the templates again (overwrites your edits to them)
 *
 * Data: .n8n-dev/ (N8N_DEV_FOLDER). On the first start in a data folder, random secrets are made for
 * it — n8n's encryption key, the owner's password, the ledger's HMAC secret and the webhook path
 * secret — kept in <folder>/dev-secrets.json (mode 0600) and printed once. N8N_ENCRYPTION_KEY and
 * N8N_OWNER_PASSWORD override them. One public-API key (the scopes npm start needs, 30 days) is kept
 * in <folder>/dev-api-key.json and reused.
 */
import { randomBytes } from 'node:crypto';
import {
	chmodSync,
	existsSync,
	mkdirSync,
	readdirSync,
	readFileSync,
	rmSync,
	statSync,
	writeFileSync,
} from 'node:fs';
import path from 'node:path';

import { pathSecretProblem } from '../nodes/PretixTrigger/actions/caller-auth';
import { N8nInstance, REPO_ROOT, type WorkflowImport } from '../test/harness/n8n';
import { startDemoServices, type DemoServices } from './demo';
import { templateCredentials } from './template-credentials';

const args = new Set(process.argv.slice(2));
const demo = args.has('--demo');
const userFolder = path.resolve(process.env.N8N_DEV_FOLDER ?? path.join(REPO_ROOT, '.n8n-dev'));
const port = Number(process.env.N8N_PORT ?? 5678);
const PRETIX_TRIGGER = 'n8n-nodes-pretix-matrix.pretixTrigger';

/** The key every data folder got from npm start before secrets were made per folder (public: in git). */
const OLD_FIXED_ENCRYPTION_KEY = 'n8n-nodes-pretix-matrix-e2e-key';
/** What npm start needs of n8n's public API: publish the templates (and read them). */
const API_KEY_SCOPES = [
	'workflow:list',
	'workflow:read',
	'workflow:activate',
	'workflow:deactivate',
];

export interface DevSecrets {
	encryptionKey: string;
	ownerPassword: string;
	ledgerSecret: string;
	webhookPathSecret: string;
	createdAt: string;
}

const random = (bytes: number) => randomBytes(bytes).toString('base64url');

/** The key a data folder's n8n already uses (its settings file), when it was started before. */
function existingEncryptionKey(folder: string): string | undefined {
	const settings = path.join(folder, '.n8n', 'config');
	if (!existsSync(settings)) return undefined;
	try {
		const key = (JSON.parse(readFileSync(settings, 'utf8')) as { encryptionKey?: unknown })
			.encryptionKey;
		return typeof key === 'string' && key ? key : undefined;
	} catch {
		return undefined;
	}
}

/** Loads the folder's secrets, or makes them on the first start. `created` says whether to print them. */
export function devSecrets(folder: string): {
	secrets: DevSecrets;
	created: boolean;
	file: string;
} {
	const file = path.join(folder, 'dev-secrets.json');
	if (existsSync(file)) {
		// Readable by this user only, whatever an editor or a copy did to it.
		if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
		return { secrets: JSON.parse(readFileSync(file, 'utf8')) as DevSecrets, created: false, file };
	}
	const secrets: DevSecrets = {
		// A folder n8n already encrypted credentials in keeps its key, or they could not be read.
		encryptionKey: existingEncryptionKey(folder) ?? random(32),
		ownerPassword: `${random(12)}-Aa1`,
		ledgerSecret: random(32),
		webhookPathSecret: random(18),
		createdAt: new Date().toISOString(),
	};
	mkdirSync(folder, { recursive: true });
	writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
	chmodSync(file, 0o600);
	return { secrets, created: true, file };
}

/** The templates, with the webhook trigger's path secret filled in where it is empty or unusable. */
function templates(webhookPathSecret: string): WorkflowImport[] {
	const dir = path.join(REPO_ROOT, 'workflows');
	return readdirSync(dir)
		.filter((file) => file.endsWith('.json'))
		.sort()
		.map((file) => JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as WorkflowImport)
		.map((workflow) => ({
			...workflow,
			nodes: (workflow.nodes as Array<{ type?: string; parameters?: Record<string, unknown> }>).map(
				(node) =>
					node.type === PRETIX_TRIGGER && pathSecretProblem(node.parameters?.pathSecret)
						? { ...node, parameters: { ...node.parameters, pathSecret: webhookPathSecret } }
						: node,
			),
		}));
}

function webhookUrls(workflows: WorkflowImport[]): string[] {
	return workflows.flatMap((workflow) =>
		(
			workflow.nodes as Array<{
				type?: string;
				webhookId?: string;
				parameters?: Record<string, unknown>;
			}>
		)
			.filter(
				(node) => node.type === PRETIX_TRIGGER && typeof node.parameters?.pathSecret === 'string',
			)
			.map(
				(node) =>
					`http://localhost:${port}/webhook/${node.webhookId}/pretix/${String(node.parameters!.pathSecret)}`,
			),
	);
}

async function main() {
	// A new data folder is private: it holds the secrets, n8n's database and its settings.
	mkdirSync(userFolder, { recursive: true, mode: 0o700 });
	const { secrets, created, file } = devSecrets(userFolder);
	const owner = {
		email: process.env.N8N_OWNER_EMAIL ?? 'owner@example.org',
		password: process.env.N8N_OWNER_PASSWORD ?? secrets.ownerPassword,
		firstName: 'Event',
		lastName: 'Organizer',
	};
	const encryptionKey = process.env.N8N_ENCRYPTION_KEY ?? secrets.encryptionKey;
	const marker = path.join(userFolder, '.templates-imported');
	const firstRun = !existsSync(marker);
	const services = demo ? await startDemoServices() : undefined;
	const importNow = firstRun || args.has('--reimport') || demo;
	const workflows = importNow ? templates(secrets.webhookPathSecret) : [];
	const n8n = await N8nInstance.start({
		label: 'dev',
		userFolder,
		installPackage: true,
		port,
		owner,
		credentials: importNow
			? templateCredentials(services, { ledgerSecret: secrets.ledgerSecret })
			: [],
		workflows,
		publish: demo ? workflows.map((w) => w.id) : [],
		inheritOutput: true,
		apiKey: {
			file: path.join(userFolder, 'dev-api-key.json'),
			scopes: API_KEY_SCOPES,
			validDays: 30,
		},
		// The harness logs at debug level for post-mortems; a person at the terminal wants less.
		env: {
			N8N_LOG_LEVEL: process.env.N8N_LOG_LEVEL ?? 'info',
			N8N_ENCRYPTION_KEY: encryptionKey,
			// n8n keeps its settings file (with the encryption key) at 0600.
			N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'true',
		},
	});
	if (importNow) writeFileSync(marker, new Date().toISOString());
	// The fake pretix's OAuth application accepts this n8n's callback: "Connect" in the credential works.
	services?.registerOAuthCallback(n8n.baseUrl);
	// The harness hands credentials to n8n's CLI import in plain files: gone once imported.
	rmSync(path.join(userFolder, 'imports'), { recursive: true, force: true });
	const lines = [
		'',
		`n8n is running on http://localhost:${port}  (log in as ${owner.email})`,
		`package n8n-nodes-pretix-matrix installed in ${path.join(userFolder, '.n8n/nodes/node_modules')}`,
		importNow
			? `imported ${workflows.length} templates from workflows/`
			: 'templates were imported before (npm start -- --reimport to import them again)',
	];
	if (created) {
		// Printed once: later starts only say where they are kept.
		lines.push(
			`secrets of this data folder, made now and kept in ${file} (readable by you only):`,
			`  owner password: ${process.env.N8N_OWNER_PASSWORD ? '(from N8N_OWNER_PASSWORD)' : secrets.ownerPassword}`,
			`  webhook path secret: ${secrets.webhookPathSecret}`,
			...webhookUrls(workflows).map((url) => `  pretix webhook URL: ${url}`),
		);
	} else lines.push(`owner password and the other secrets of this data folder: ${file}`);
	if (encryptionKey === OLD_FIXED_ENCRYPTION_KEY)
		lines.push(
			'WARNING: this data folder was made by an older npm start and its credentials are encrypted with a key published in this repository; delete the folder (or set N8N_DEV_FOLDER to a new one) to start over with a random key.',
		);
	if (services) lines.push(...services.describe());
	else
		lines.push(
			'fill in the placeholder credentials (pretix, Matrix bot) and publish the templates you use',
		);
	lines.push('Ctrl+C stops n8n', '');
	process.stdout.write(lines.join('\n'));
	if (services) await playDemo(services);

	const stop = async () => {
		await n8n.stop();
		await services?.stop();
		process.exit(0);
	};
	process.on('SIGINT', () => void stop());
	process.on('SIGTERM', () => void stop());
}

/**
 * The demo's little story, typed by the fake organizer: map the attendees' room to the fixture event,
 * invite everyone registered, ask for the status. The bot's answers are printed as they arrive.
 */
async function playDemo(services: DemoServices) {
	const { homeserver, organizer, attendeesRoom, pretixUrl } = services;
	const said = (room: string) =>
		homeserver.timeline(room, 'm.room.message').filter((e) => e.sender === services.botUserId)
			.length;
	await new Promise((resolve) => setTimeout(resolve, 3000)); // the command triggers' first sync
	for (const text of [`!setroom ${pretixUrl}/exampleorg/summit26/`, '!batchinvite', '!status']) {
		const before = said(attendeesRoom);
		process.stdout.write(`\ndemo: ${organizer.userId} types: ${text}\n`);
		homeserver.say(organizer.userId, attendeesRoom, text);
		const deadline = Date.now() + 120_000;
		while (said(attendeesRoom) === before && Date.now() < deadline)
			await new Promise((resolve) => setTimeout(resolve, 250));
		for (const event of homeserver
			.timeline(attendeesRoom, 'm.room.message')
			.filter((e) => e.sender === services.botUserId)
			.slice(before)) {
			process.stdout.write(
				`demo: the bot answers: ${String((event.content as { body?: unknown }).body ?? '')}\n`,
			);
		}
	}
	process.stdout.write('\ndemo: done — open http://localhost:' + port + ' to see the executions\n');
}

if (require.main === module) {
	main().catch((error) => {
		process.stderr.write(`npm start failed: ${(error as Error).stack ?? error}\n`);
		process.exit(1);
	});
}
