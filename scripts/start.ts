/**
 * `npm start`: a real n8n 2.x on http://localhost:5678 (embedded SQLite) with this package installed
 * exactly as n8n installs community packages, and the templates from workflows/ imported.
 *
 *   npm start                  n8n with the templates and placeholder credentials (fill them in)
 *   npm start -- --demo        also starts a fake pretix and a fake homeserver, points the
 *                              credentials at them and publishes the templates: the whole flow runs
 *   npm start -- --reimport    imports the templates again (overwrites your edits to them)
 *
 * Owner login: N8N_OWNER_EMAIL / N8N_OWNER_PASSWORD (defaults below). Data: .n8n-dev/ (N8N_DEV_FOLDER).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { N8nInstance, REPO_ROOT, type WorkflowImport } from '../test/harness/n8n';
import { startDemoServices, type DemoServices } from './demo';
import { templateCredentials } from './template-credentials';

const args = new Set(process.argv.slice(2));
const demo = args.has('--demo');
const userFolder = path.resolve(process.env.N8N_DEV_FOLDER ?? path.join(REPO_ROOT, '.n8n-dev'));
const owner = {
	email: process.env.N8N_OWNER_EMAIL ?? 'owner@example.org',
	password: process.env.N8N_OWNER_PASSWORD ?? 'Organizer-Passw0rd',
	firstName: 'Event',
	lastName: 'Organizer',
};
const port = Number(process.env.N8N_PORT ?? 5678);

function templates(): WorkflowImport[] {
	const dir = path.join(REPO_ROOT, 'workflows');
	return readdirSync(dir)
		.filter((file) => file.endsWith('.json'))
		.sort()
		.map((file) => JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as WorkflowImport);
}

async function main() {
	mkdirSync(userFolder, { recursive: true });
	const marker = path.join(userFolder, '.templates-imported');
	const firstRun = !existsSync(marker);
	const services = demo ? await startDemoServices() : undefined;
	const importNow = firstRun || args.has('--reimport') || demo;
	const workflows = importNow ? templates() : [];
	const n8n = await N8nInstance.start({
		label: 'dev',
		userFolder,
		installPackage: true,
		port,
		owner,
		credentials: importNow ? templateCredentials(services) : [],
		workflows,
		publish: demo ? workflows.map((w) => w.id) : [],
		inheritOutput: true,
		// The harness logs at debug level for post-mortems; a person at the terminal wants less.
		env: { N8N_LOG_LEVEL: process.env.N8N_LOG_LEVEL ?? 'info' },
	});
	if (importNow) writeFileSync(marker, new Date().toISOString());
	const lines = [
		'',
		`n8n is running on http://localhost:${port}  (log in as ${owner.email})`,
		`package n8n-nodes-pretix-matrix installed in ${path.join(userFolder, '.n8n/nodes/node_modules')}`,
		importNow ? `imported ${workflows.length} templates from workflows/` : 'templates were imported before (npm start -- --reimport to import them again)',
	];
	if (services) lines.push(...services.describe());
	else lines.push('fill in the placeholder credentials (pretix, Matrix bot, ledger) and publish the templates you use');
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
	const said = (room: string) => homeserver.timeline(room, 'm.room.message').filter((e) => e.sender === services.botUserId).length;
	await new Promise((resolve) => setTimeout(resolve, 3000)); // the command triggers' first sync
	for (const text of [`!setroom ${pretixUrl}/exampleorg/summit26/`, '!batchinvite', '!status']) {
		const before = said(attendeesRoom);
		process.stdout.write(`\ndemo: ${organizer.userId} types: ${text}\n`);
		homeserver.say(organizer.userId, attendeesRoom, text);
		const deadline = Date.now() + 120_000;
		while (said(attendeesRoom) === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
		for (const event of homeserver.timeline(attendeesRoom, 'm.room.message').filter((e) => e.sender === services.botUserId).slice(before)) {
			process.stdout.write(`demo: the bot answers: ${String((event.content as { body?: unknown }).body ?? '')}\n`);
		}
	}
	process.stdout.write('\ndemo: done — open http://localhost:' + port + ' to see the executions\n');
}

main().catch((error) => {
	process.stderr.write(`npm start failed: ${(error as Error).stack ?? error}\n`);
	process.exit(1);
});
