/**
 * A separate OS process for the cross-process claim test. It opens the store given on the command
 * line and talks to the test over its standard streams, one line at a time:
 *   → `ready`     the store is open (connected, schema checked)
 *   ← `go`        from the test, once every process is ready
 *   → `claiming`  written (synchronously, to a pipe) right before the first claim call
 *   → `{"won":[…]}` the subjects this process won, after its last claim
 * then closes the store and exits.
 */
import { createInterface } from 'node:readline';

import { Ledger } from '../../../lib/store';
import { backendFromSpec, type BackendSpec } from './backends';

interface WorkerArgs {
	spec: BackendSpec;
	secret: string;
	subjects: string[];
	batch: number;
}

function nextLine(): Promise<string> {
	return new Promise((resolve, reject) => {
		const lines = createInterface({ input: process.stdin });
		lines.once('line', (line) => {
			resolve(line.trim());
			lines.close();
		});
		lines.once('close', () => reject(new Error('stdin closed before "go"')));
	});
}

async function main(): Promise<void> {
	const args = JSON.parse(process.argv[2]) as WorkerArgs;
	const backend = backendFromSpec(args.spec);
	await backend.init();
	const ledger = new Ledger(backend, { secret: args.secret });
	process.stdout.write('ready\n');
	const command = await nextLine();
	if (command !== 'go') throw new Error(`expected "go", got "${command}"`);
	process.stdout.write('claiming\n');
	const won: string[] = [];
	for (let i = 0; i < args.subjects.length; i += args.batch) {
		const batch = args.subjects.slice(i, i + args.batch);
		const results = await ledger.claim(
			batch.map((subject) => ({ event: 'race', scope: 'room', subject })),
		);
		results.forEach((result, index) => {
			if (result.claimed) won.push(batch[index]);
		});
	}
	process.stdout.write(`${JSON.stringify({ won })}\n`);
	await backend.close();
}

main().catch((error) => {
	process.stderr.write(String(error?.stack ?? error));
	process.exit(1);
});
