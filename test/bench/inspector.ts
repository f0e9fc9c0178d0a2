/**
 * The inspector protocol of a running Node process (the n8n main process), for the bench's CPU and
 * heap profiles: SIGUSR1 opens the inspector on 127.0.0.1:9229 (Node's default for a signalled
 * process); commands go over its WebSocket.
 */
import { sleep } from './common';

const INSPECTOR_PORT = 9229;

export class Inspector {
	private nextId = 1;

	private constructor(private readonly socket: WebSocket) {}

	static async attach(pid: number): Promise<Inspector> {
		process.kill(pid, 'SIGUSR1');
		let url: string | undefined;
		for (let i = 0; i < 50 && !url; i++) {
			await sleep(200);
			try {
				const list = (await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json/list`)).json()) as Array<{
					webSocketDebuggerUrl?: string;
				}>;
				url = list[0]?.webSocketDebuggerUrl;
			} catch {
				// not listening yet
			}
		}
		if (!url) throw new Error(`no inspector on port ${INSPECTOR_PORT} after SIGUSR1`);
		const socket = new WebSocket(url);
		await new Promise<void>((resolve, reject) => {
			socket.addEventListener('open', () => resolve(), { once: true });
			socket.addEventListener('error', () => reject(new Error('inspector connection failed')), { once: true });
		});
		return new Inspector(socket);
	}

	send<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
		const id = this.nextId++;
		return new Promise<T>((resolve, reject) => {
			const onMessage = (event: MessageEvent) => {
				const message = JSON.parse(String(event.data)) as { id?: number; result?: T; error?: { message: string } };
				if (message.id !== id) return;
				this.socket.removeEventListener('message', onMessage);
				if (message.error) reject(new Error(message.error.message));
				else resolve(message.result as T);
			};
			this.socket.addEventListener('message', onMessage);
			this.socket.send(JSON.stringify({ id, method, params }));
		});
	}

	/** A JSON-serialisable value computed in the process (e.g. process.memoryUsage()). */
	async evaluate<T>(expression: string): Promise<T> {
		const result = await this.send<{ result: { value?: string }; exceptionDetails?: { text: string } }>('Runtime.evaluate', {
			expression: `JSON.stringify(${expression})`,
			returnByValue: true,
		});
		if (result.exceptionDetails || typeof result.result.value !== 'string') throw new Error(`inspector: cannot evaluate ${expression}`);
		return JSON.parse(result.result.value) as T;
	}

	close(): void {
		this.socket.close();
	}
}
