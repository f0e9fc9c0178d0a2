import type { INodeProperties, INodePropertyOptions } from 'n8n-workflow';

/**
 * A node subtitle that names the chosen operation as n8n's node panel does, by its `action`
 * ("Get many attendees"), instead of internal values ("getMany: attendee"). n8n evaluates a subtitle
 * as an expression of the node's parameters, so the names are baked into it as a lookup table —
 * as n8n's own JWT node bakes its prettifyOperation into its subtitle (n8n-nodes-base
 * nodes/Jwt/Jwt.node.ts) — built from the operation options, so the two cannot drift apart.
 */
export function operationSubtitle(properties: INodeProperties[]): string {
	const names: Record<string, string> = {};
	for (const property of properties) {
		if (property.name !== 'operation' || !property.options) continue;
		const resources = (property.displayOptions?.show?.resource as string[] | undefined) ?? [''];
		for (const option of property.options as INodePropertyOptions[]) {
			for (const resource of resources)
				names[`${resource}/${option.value}`] = option.action ?? option.name;
		}
	}
	// A flat table: a nested one would put "}}" into the expression, which ends it early.
	return `={{ ${JSON.stringify(names)}[($parameter["resource"] || "") + "/" + $parameter["operation"]] || $parameter["operation"] }}`;
}
