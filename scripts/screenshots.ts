/**
 * `npm run screenshots`: pictures of the real editor for the README, made again from scratch.
 *
 * Starts `npm start -- --demo` (scripts/start.ts: a real n8n with this package, the fake pretix and
 * homeserver, every template imported and published, the demo's commands played) in a temporary
 * data folder on a free port, waits for the demo to finish, then drives Debian's Chromium with
 * playwright-core (test/harness/browser.ts) through n8n's editor and writes docs/screenshots/:
 *   canvas-<template>.jpg   the canvas of each template in workflows/
 *   node-panel.jpg          a node's panel (the batch invite's Invite step)
 *   demo-chat.jpg           the demo's chat: what the organizer typed and what the bot answered
 * JPEG, not PNG: `n8n-node build` copies every PNG and SVG of the tree into the package.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';

import { launchChromium, n8nSession } from '../test/harness/browser';
import { freePort } from '../test/harness/n8n';

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'docs/screenshots');
const OWNER = {
	email: 'owner@example.org',
	password: `Shots-${randomBytes(9).toString('base64url')}1`,
};
const JPEG = { type: 'jpeg' as const, quality: 88 };
const DEMO_TIMEOUT_MS = 15 * 60_000;

interface Demo {
	process: ChildProcess;
	baseUrl: string;
	transcript: Array<{ who: 'organizer' | 'bot'; text: string }>;
}

/** `npm start -- --demo` (without the build: `npm run screenshots` has just built), until the demo is done. */
function startDemo(port: number, folder: string): Promise<Demo> {
	const child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), ['scripts/start.ts', '--demo'], {
		cwd: ROOT,
		env: {
			...process.env,
			N8N_PORT: String(port),
			N8N_DEV_FOLDER: folder,
			N8N_OWNER_EMAIL: OWNER.email,
			N8N_OWNER_PASSWORD: OWNER.password,
			N8N_LOG_LEVEL: 'warn',
		},
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	const transcript: Demo['transcript'] = [];
	let output = '';
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			child.kill('SIGINT');
			reject(new Error('the demo did not finish within 15 minutes'));
		}, DEMO_TIMEOUT_MS);
		child.stdout.on('data', (chunk: Buffer) => {
			output += chunk.toString();
			let newline: number;
			while ((newline = output.indexOf('\n')) >= 0) {
				const line = output.slice(0, newline);
				output = output.slice(newline + 1);
				const typed = /^demo: \S+ types: (.*)$/.exec(line);
				const answered = /^demo: the bot answers: (.*)$/.exec(line);
				const last = transcript[transcript.length - 1];
				if (typed) transcript.push({ who: 'organizer', text: typed[1] });
				else if (answered) transcript.push({ who: 'bot', text: answered[1] });
				// A notice with several lines arrives as several lines of output.
				else if (last?.who === 'bot' && line.trim() && !line.startsWith('demo:'))
					last.text += `\n${line}`;
				else if (line.startsWith('demo: done')) {
					clearTimeout(timer);
					resolve({ process: child, baseUrl: `http://127.0.0.1:${port}`, transcript });
				}
			}
		});
		child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
		child.on('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`npm start -- --demo ended (exit code ${code}) before the demo was done`));
		});
	});
}

/** The bot's answers are Matrix notices whose body may carry newlines (lists): kept as lines. */
function chatHtml(transcript: Demo['transcript']): string {
	const escape = (text: string) =>
		text
			.replace(/&/g, '&amp;')
			.replace(/</g, '&lt;')
			.replace(/>/g, '&gt;')
			// The bot's notices mark words with **…** (their formatted_body makes them bold in a client).
			.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
	const rows = transcript
		.map(({ who, text }) =>
			who === 'organizer'
				? `<div class="row me"><div class="name">organizer</div><div class="bubble">${escape(text)}</div></div>`
				: `<div class="row bot"><div class="name">eventbot</div><div class="bubble notice">${escape(text)}</div></div>`,
		)
		.join('\n');
	return `<!doctype html><html><head><meta charset="utf-8"><style>
		body { margin: 0; font: 15px/1.45 system-ui, sans-serif; background: #f4f6fa; color: #17191c; }
		header { padding: 14px 24px; background: #fff; border-bottom: 1px solid #e3e8f0; font-weight: 600; }
		header small { color: #737d8c; font-weight: 400; margin-left: 8px; }
		main { padding: 16px 24px; display: flex; flex-direction: column; gap: 10px; }
		.row { display: flex; flex-direction: column; max-width: 78%; }
		.row.me { align-self: flex-end; align-items: flex-end; }
		.name { font-size: 12px; color: #737d8c; margin: 0 6px 2px; }
		.bubble { padding: 8px 12px; border-radius: 12px; background: #0dbd8b; color: #fff; white-space: pre-wrap; }
		.bubble.notice { background: #fff; color: #17191c; border: 1px solid #e3e8f0; }
	</style></head><body><header>Summit 26 attendees<small>#summit26:example.org — the demo's chat (npm start -- --demo)</small></header>
	<main>${rows}</main></body></html>`;
}

/** The template's canvas, fitted to the window (n8n's "zoom to fit" shortcut). */
async function shootCanvas(page: Page, workflowId: string, file: string): Promise<void> {
	await page.goto(`/workflow/${workflowId}`);
	await page.locator('[data-test-id="canvas-node"]').first().waitFor({ timeout: 60_000 });
	await page.waitForTimeout(1500);
	await page
		.locator('[data-test-id="canvas-wrapper"], .vue-flow')
		.first()
		.click({ position: { x: 5, y: 5 } })
		.catch(() => undefined);
	await page.keyboard.press('1');
	await page.waitForTimeout(1000);
	await page.screenshot({ path: file, ...JPEG });
}

async function main(): Promise<void> {
	mkdirSync(OUT, { recursive: true });
	const folder = mkdtempSync(path.join(tmpdir(), 'pretix-matrix-screenshots-'));
	const port = await freePort();
	process.stdout.write(
		`screenshots: starting npm start -- --demo on port ${port} (a few minutes)\n`,
	);
	const demo = await startDemo(port, folder);
	const browser = await launchChromium();
	const written: string[] = [];
	try {
		// Wide, so that a whole template fits at a readable zoom.
		const context = await n8nSession(browser, demo.baseUrl, OWNER, { width: 1920, height: 1080 });
		const page = await context.newPage();
		for (const name of readdirSync(path.join(ROOT, 'workflows'))
			.filter((f) => f.endsWith('.json'))
			.sort()) {
			const workflow = JSON.parse(readFileSync(path.join(ROOT, 'workflows', name), 'utf8')) as {
				id: string;
			};
			const file = path.join(OUT, `canvas-${name.replace(/\.json$/, '')}.jpg`);
			await shootCanvas(page, workflow.id, file);
			written.push(file);
		}

		// A node's panel: the batch invite's Invite step (Matrix Invite).
		await page.setViewportSize({ width: 1440, height: 900 });
		await page.goto('/workflow/pretixMatrixBatchInvite');
		const node = page.locator('[data-test-id="canvas-node"][data-node-name="Invite"]');
		await node.waitFor({ timeout: 60_000 });
		await node.dblclick();
		await page.locator('[data-test-id="ndv"]').first().waitFor({ timeout: 30_000 });
		await page.waitForTimeout(1500);
		const panel = path.join(OUT, 'node-panel.jpg');
		await page.screenshot({ path: panel, ...JPEG });
		written.push(panel);

		const chat = await browser.newPage({ viewport: { width: 900, height: 700 } });
		await chat.setContent(chatHtml(demo.transcript));
		const chatFile = path.join(OUT, 'demo-chat.jpg');
		await chat.screenshot({ path: chatFile, fullPage: true, ...JPEG });
		written.push(chatFile);
	} finally {
		await browser.close();
		demo.process.kill('SIGINT');
		await new Promise((resolve) => demo.process.once('exit', resolve));
		rmSync(folder, { recursive: true, force: true });
	}
	for (const file of written) process.stdout.write(`screenshots: ${path.relative(ROOT, file)}\n`);
}

main().catch((error) => {
	process.stderr.write(`screenshots failed: ${(error as Error).stack ?? error}\n`);
	process.exit(1);
});
