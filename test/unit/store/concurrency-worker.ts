/**
 * A separate OS process for the cross-process claim test: opens the store given on the command
 * line, waits for the common start time, claims the keys in batches (in the order given) and
 * prints which subjects it won, as JSON on stdout.
 */
import { Ledger } from '../../../lib/store';
import { backendFromSpec, type BackendSpec } from './backends';

interface WorkerArgs {
	spec: BackendSpec;
	secret: string;
	subjects: string[];
	batch: number;
	startAt: number;
}

async function main(): Promise<void> {
	const args = JSON.parse(process.argv[2]) as WorkerArgs;
	const backend = backendFromSpec(args.spec);
	await backend.init();
	const ledger = new Ledger(backend, { secret: args.secret });
	await new Promise((resolve) => setTimeout(resolve, Math.max(0, args.startAt - Date.now())));
	const startedAt = Date.now();
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
	const finishedAt = Date.now();
	await backend.close();
	process.stdout.write(JSON.stringify({ won, startedAt, finishedAt }));
}

main().catch((error) => {
	process.stderr.write(String(error?.stack ?? error));
	process.exit(1);
});
