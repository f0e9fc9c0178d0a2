import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeApiError, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { n8nTransport } from '../../lib/http/n8n-transport';
import { normalizeMxid, noteMessage, REASON_MESSAGES, type MxidResult } from '../../lib/mxid';
import { homeserverBase, lookUpProfile, ProfileAuthError, type Existence } from './profile';

/**
 * Normalises and validates the Matrix IDs attendees typed. Valid items leave on output 1 with the
 * normalised ID, invalid ones on output 2 with a reason code and a sentence the organizer can
 * forward to the attendee. Optionally checks that the user exists on their homeserver.
 */
export class MxidValidate implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'MXID Validate',
		name: 'mxidValidate',
		icon: { light: 'file:mxidValidate.svg', dark: 'file:mxidValidate.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle:
			'={{"field: " + $parameter["field"] + ($parameter["checkExistence"] ? ", check existence" : "")}}',
		description: 'Normalise and validate Matrix user IDs, with a reason attendees can act on',
		defaults: {
			name: 'MXID Validate',
		},
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		// Invalid IDs leave on their own output unless "Invalid IDs" says the same output (e.g. in front
		// of Dedupe Store → Ticket → Plan, which needs every ticket, valid or not).
		outputs: `={{ $parameter["invalidOutput"] === "same" ? ["${NodeConnectionTypes.Main}"] : [{ "type": "${NodeConnectionTypes.Main}", "displayName": "Valid" }, { "type": "${NodeConnectionTypes.Main}", "displayName": "Invalid" }] }}`,
		credentials: [
			{
				name: 'matrixBotApi',
				required: true,
				displayOptions: { show: { checkExistence: [true] } },
			},
		],
		properties: [
			{
				displayName: 'Matrix ID Field',
				name: 'field',
				type: 'string',
				default: 'matrixId',
				required: true,
				description:
					'Field of the item holding the Matrix ID as typed (a dot path such as answers.matrix works too)',
			},
			{
				displayName: 'Invalid IDs',
				name: 'invalidOutput',
				type: 'options',
				options: [
					{ name: 'Separate Output', value: 'separate', description: 'Valid IDs on output 1, invalid ones on output 2' },
					{ name: 'Same Output', value: 'same', description: 'Every item on one output; the result field says whether it is valid' },
				],
				default: 'separate',
			},
			{
				displayName: 'Check the User Exists',
				name: 'checkExistence',
				type: 'boolean',
				default: false,
				description:
					"Whether to look the user up on the bot's homeserver. Unknown users become invalid; when their server cannot be reached the item stays valid and is flagged.",
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add Option',
				default: {},
				options: [
					{
						displayName: 'Default Server',
						name: 'defaultServer',
						type: 'string',
						default: '',
						placeholder: 'example.org',
						description:
							'Server added to a bare user name such as "alex". Empty: a bare name is invalid (missing server).',
					},
					{
						displayName: 'Parallel Look-Ups',
						name: 'concurrency',
						type: 'number',
						typeOptions: { minValue: 1, maxValue: 20 },
						default: 4,
						description: 'How many existence checks run at the same time',
					},
					{
						displayName: 'Result Field',
						name: 'resultField',
						type: 'string',
						default: 'mxid',
						description: 'Field that receives the result (valid, userId, reason, message, notes)',
					},
					{
						displayName: 'Write Normalised ID Back',
						name: 'writeBack',
						type: 'boolean',
						default: false,
						description:
							'Whether to replace the Matrix ID field with the normalised ID on valid items',
					},
				],
			},
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const valid: INodeExecutionData[] = [];
		const invalid: INodeExecutionData[] = [];

		const results: Array<
			| { result: MxidResult; field: string; resultField: string; writeBack: boolean }
			| { error: Error }
		> = items.map((item, i) => {
			try {
				const field = String(this.getNodeParameter('field', i) ?? '').trim();
				if (!field)
					throw new NodeOperationError(this.getNode(), 'Name the field that holds the Matrix ID', {
						itemIndex: i,
					});
				const options = this.getNodeParameter('options', i, {}) as IDataObject;
				const defaultServer =
					typeof options.defaultServer === 'string' && options.defaultServer.trim()
						? options.defaultServer.trim()
						: undefined;
				return {
					result: normalizeMxid(readField(item.json, field), { defaultServer }),
					field,
					resultField: String(options.resultField ?? '').trim() || 'mxid',
					writeBack: options.writeBack === true,
				};
			} catch (error) {
				// n8n's own wrapping: a NodeOperationError passes through, anything else keeps its message.
				if (!this.continueOnFail())
					throw new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
				return { error: error as Error };
			}
		});

		const existence = new Map<string, Existence>();
		if (this.getNodeParameter('checkExistence', 0, false) === true) {
			const userIds = [
				...new Set(
					results.flatMap((r) => ('result' in r && r.result.userId ? [r.result.userId] : [])),
				),
			];
			if (userIds.length > 0) await checkAll.call(this, userIds, existence);
		}

		results.forEach((entry, i) => {
			if ('error' in entry) {
				invalid.push({
					json: { ...items[i].json, error: entry.error.message },
					pairedItem: { item: i },
				});
				return;
			}
			const { result, field, resultField, writeBack } = entry;
			const found = result.userId ? existence.get(result.userId) : undefined;
			const unknownUser = found === 'notFound';
			const isValid = result.valid && !unknownUser;
			const reason = unknownUser ? 'unknownUser' : result.reason;
			const out: IDataObject = {
				valid: isValid,
				userId: isValid ? result.userId : null,
				reason,
				message: reason ? REASON_MESSAGES[reason] : null,
				notes: result.notes.map((code) => ({ code, message: noteMessage(code) })),
				existence: found ?? 'notChecked',
				flagged: found === 'unreachable' || found === 'unknown',
			};
			if (!isValid) out.candidate = result.candidate;
			const json: IDataObject = { ...items[i].json, [resultField]: out };
			if (isValid && writeBack) writeField(json, field, result.userId);
			(isValid ? valid : invalid).push({ json, pairedItem: { item: i } });
		});
		if (this.getNodeParameter('invalidOutput', 0, 'separate') === 'same') {
			return [[...valid, ...invalid].sort((a, b) => pairedOf(a) - pairedOf(b))];
		}
		return [valid, invalid];
	}
}

async function checkAll(
	this: IExecuteFunctions,
	userIds: string[],
	existence: Map<string, Existence>,
): Promise<void> {
	const credentials = await this.getCredentials('matrixBotApi');
	const base = homeserverBase(credentials.homeserverUrl);
	if (!base)
		throw new NodeOperationError(
			this.getNode(),
			'The Matrix Bot API credential has no valid homeserver URL',
		);
	const transport = n8nTransport(this, 'matrixBotApi', credentials);
	const options = this.getNodeParameter('options', 0, {}) as IDataObject;
	const concurrency = Math.min(20, Math.max(1, Number(options.concurrency) || 4));
	let next = 0;
	const worker = async () => {
		while (next < userIds.length) {
			const userId = userIds[next++];
			try {
				existence.set(userId, await lookUpProfile(transport, base, userId));
			} catch (error) {
				if (error instanceof ProfileAuthError)
					throw new NodeApiError(
						this.getNode(),
						{ message: error.message },
						{ message: error.message, httpCode: '401' },
					);
				throw new NodeOperationError(this.getNode(), error as Error);
			}
		}
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, userIds.length) }, worker));
}

function readField(json: IDataObject, field: string): unknown {
	if (field in json) return json[field];
	let current: unknown = json;
	for (const part of field.split('.')) {
		if (current === null || typeof current !== 'object') return undefined;
		current = (current as IDataObject)[part];
	}
	return current;
}

function writeField(json: IDataObject, field: string, value: unknown): void {
	if (field in json || !field.includes('.')) {
		json[field] = value as IDataObject[string];
		return;
	}
	const parts = field.split('.');
	let current: IDataObject = json;
	for (const part of parts.slice(0, -1)) {
		const next = current[part];
		if (next === null || typeof next !== 'object' || Array.isArray(next)) return;
		// Copy on write: the input item's nested objects are shared with earlier nodes' output.
		current[part] = { ...(next as IDataObject) };
		current = current[part] as IDataObject;
	}
	current[parts[parts.length - 1]] = value as IDataObject[string];
}

function pairedOf(item: INodeExecutionData): number {
	const paired = item.pairedItem;
	return typeof paired === 'object' && paired !== null && !Array.isArray(paired) ? paired.item : 0;
}
