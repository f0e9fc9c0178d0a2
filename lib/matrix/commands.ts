/**
 * Chat command parsing for the Matrix Command Trigger: `!batchinvite #room:server "two words"`.
 * Pure functions; anything odd (non-strings, huge bodies, control characters, unknown commands)
 * yields a result, never an exception.
 */
export const DEFAULT_COMMANDS = [
	'status',
	'setroom',
	'unsetroom',
	'batchinvite',
	'stats',
	'purge',
	'help',
] as const;

export const MAX_COMMAND_LENGTH = 4_000;
const MAX_ARGS = 100;
const NAME = /^[a-z0-9][a-z0-9_.-]{0,31}$/;
// Control and zero-width characters: invisible in a chat client, meaningless in a command.
// eslint-disable-next-line no-control-regex
const INVISIBLE = new RegExp('[\\u0000-\\u0008\\u000b-\\u001f\\u007f\\u200b-\\u200d\\ufeff]', 'g');

export type ParseResult =
	| { kind: 'command'; command: string; args: string[]; text: string }
	/** Looked like a command, but not one we emit. */
	| { kind: 'unknown'; command: string }
	| { kind: 'tooLong' }
	| { kind: 'none' };

export interface ParseOptions {
	prefix?: string;
	/** Commands to emit (lower case). Undefined: every well-formed command. */
	commands?: readonly string[];
	maxLength?: number;
}

/** Drops a legacy reply fallback (`> <@user> quoted` lines and a blank line) in front of the text. */
export function stripReplyFallback(body: string): string {
	if (!body.startsWith('> ')) return body;
	const lines = body.split('\n');
	let i = 0;
	while (i < lines.length && lines[i].startsWith('>')) i++;
	if (i < lines.length && lines[i].trim() === '') i++;
	return lines.slice(i).join('\n');
}

/** Splits on whitespace; "double" or 'single' quotes group words. An unmatched quote is literal. */
export function tokenize(text: string): string[] {
	const args: string[] = [];
	const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
	let match: RegExpExecArray | null;
	while ((match = pattern.exec(text)) && args.length < MAX_ARGS) {
		args.push(match[1] ?? match[2] ?? match[3]);
	}
	return args;
}

export function parseCommand(body: unknown, options: ParseOptions = {}): ParseResult {
	if (typeof body !== 'string') return { kind: 'none' };
	const prefix = options.prefix === undefined || options.prefix === '' ? '!' : options.prefix;
	const maxLength = options.maxLength ?? MAX_COMMAND_LENGTH;
	// Control characters other than tab/newline carry no meaning in a command.
	const cleaned = stripReplyFallback(body).replace(INVISIBLE, '').trimStart();
	if (!cleaned.startsWith(prefix)) return { kind: 'none' };
	if (cleaned.length > maxLength) return { kind: 'tooLong' };
	const afterPrefix = cleaned.slice(prefix.length);
	const nameMatch = /^(\S+)/.exec(afterPrefix);
	if (!nameMatch) return { kind: 'none' };
	const command = nameMatch[1].toLowerCase();
	if (!NAME.test(command)) return { kind: 'none' };
	const allowed = options.commands?.map((c) => c.toLowerCase());
	if (allowed && allowed.length && !allowed.includes(command)) return { kind: 'unknown', command };
	const text = afterPrefix.slice(nameMatch[1].length).trim();
	return { kind: 'command', command, args: tokenize(text), text };
}

export function helpText(prefix: string, commands: readonly string[]): string {
	const p = prefix || '!';
	const list = commands.length ? commands.map((c) => `${p}${c}`).join(', ') : '(none configured)';
	return `Available commands: ${list}`;
}
