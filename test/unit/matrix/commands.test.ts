import fc from 'fast-check';
import {
	DEFAULT_COMMANDS,
	helpText,
	parseCommand,
	stripReplyFallback,
	tokenize,
} from '../../../lib/matrix/commands';

describe('parseCommand', () => {
	const commands = DEFAULT_COMMANDS;

	test.each([
		['!status', { kind: 'command', command: 'status', args: [], text: '' }],
		['  !STATUS  ', { kind: 'command', command: 'status', args: [], text: '' }],
		[
			'!batchinvite #room:example.org "Main Hall" 5',
			{
				kind: 'command',
				command: 'batchinvite',
				args: ['#room:example.org', 'Main Hall', '5'],
				text: '#room:example.org "Main Hall" 5',
			},
		],
		[
			"!setroom 'a b' c",
			{ kind: 'command', command: 'setroom', args: ['a b', 'c'], text: "'a b' c" },
		],
		[
			'!purge "unterminated quote',
			{
				kind: 'command',
				command: 'purge',
				args: ['"unterminated', 'quote'],
				text: '"unterminated quote',
			},
		],
		[
			'!stats\nsecond line',
			{ kind: 'command', command: 'stats', args: ['second', 'line'], text: 'second line' },
		],
		['!frobnicate x', { kind: 'unknown', command: 'frobnicate' }],
		['hello !status', { kind: 'none' }],
		['!', { kind: 'none' }],
		['! status', { kind: 'none' }],
		['!!!', { kind: 'none' }],
		['!<script>', { kind: 'none' }],
	])('%j', (body, expected) => {
		expect(parseCommand(body, { commands })).toEqual(expected);
	});

	test('custom prefix, any command when no list is given', () => {
		expect(parseCommand('?anything goes', { prefix: '?' })).toEqual({
			kind: 'command',
			command: 'anything',
			args: ['goes'],
			text: 'goes',
		});
		expect(parseCommand('!status', { prefix: '?' })).toEqual({ kind: 'none' });
		expect(parseCommand('bot: status', { prefix: 'bot: ' })).toMatchObject({
			kind: 'command',
			command: 'status',
		});
	});

	test('strips legacy reply fallbacks and invisible characters', () => {
		expect(stripReplyFallback('> <@a:b> quoted\n> more\n\n!status')).toBe('!status');
		expect(parseCommand('> <@a:b> earlier\n\n!stats', { commands })).toMatchObject({
			kind: 'command',
			command: 'stats',
		});
		expect(parseCommand('\u200b!status\u0007', { commands })).toMatchObject({
			kind: 'command',
			command: 'status',
		});
	});

	test('huge bodies are refused, not parsed', () => {
		expect(parseCommand(`!status ${'x'.repeat(5_000)}`, { commands })).toEqual({ kind: 'tooLong' });
		expect(tokenize('a '.repeat(1_000))).toHaveLength(100);
	});

	test('never throws, whatever arrives', () => {
		fc.assert(
			fc.property(fc.anything(), fc.string(), (body, prefix) => {
				const result = parseCommand(body, { prefix, commands });
				expect(['command', 'unknown', 'tooLong', 'none']).toContain(result.kind);
			}),
			{ numRuns: 500 },
		);
		fc.assert(
			fc.property(fc.string({ maxLength: 300 }), (rest) => {
				const result = parseCommand(`!status ${rest}`, { commands });
				if (result.kind === 'command') expect(result.args.length).toBeLessThanOrEqual(100);
			}),
		);
	});

	test('help text lists commands with the prefix', () => {
		expect(helpText('!', ['status', 'help'])).toBe('Available commands: !status, !help');
		expect(helpText('', [])).toBe('Available commands: (none configured)');
	});
});
