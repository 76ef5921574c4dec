// Mappings: each as a table (field ← source, transforms, status map), checked live; a preview.
import { html } from 'hono/html';
import type { TargetConfig } from '../config/index.js';
import { formatIssue, type Issue } from '../core/errors.js';
import { listUnansweredReferrals } from '../ledger/index.js';
import {
  describeOrigin,
  describeTransform,
  type CompiledMapping,
  type StatusDefinition,
} from '../mapping/index.js';
import { BASE, page, show, type Markup } from './layout.js';
import type { Visitor } from './security.js';
import type { ConsoleServices, FieldPreview, MappingCheck, TargetPreview } from './services.js';

/**
 * The CRM field an issue is about (`fields.Email...` → Email); null for issues about the file as a
 * whole.
 */
export function fieldOfIssue(issue: Pick<Issue, 'path'>): string | null {
  const match = /^fields\.([^.[\]]+)/.exec(issue.path);
  return match ? match[1]! : null;
}

function checkSummary(check: MappingCheck): Markup {
  if (check.status === 'ok')
    return html`<p class="ok" data-testid="check">
      Checked against the CRM's metadata: OK (${check.fields} fields, version ${check.version}).
    </p>`;
  if (check.status === 'unreachable')
    return html`<p class="bad" data-testid="check">
      Not checked: the CRM cannot be reached now (${check.error.message}).
    </p>`;
  const general = check.issues.filter((i) => fieldOfIssue(i) === null);
  return html`<p class="bad" data-testid="check">
      Checked against the CRM's metadata: ${check.issues.length}
      ${check.issues.length === 1 ? 'problem' : 'problems'}, shown on their rows. Fix the mapping
      file, then reload; the worker picks the change up by itself.
    </p>
    ${
      general.length > 0
        ? html`<ul class="bad">
            ${general.map((i) => html`<li>${formatIssue(i)}</li>`)}
          </ul>`
        : ''
    }`;
}

function fieldsTable(mapping: CompiledMapping, check: MappingCheck): Markup {
  const issues = check.status === 'invalid' ? check.issues : [];
  return html`<table data-testid="mapping-fields">
    <thead>
      <tr>
        <th>CRM field</th>
        <th></th>
        <th>Comes from</th>
        <th>Transforms</th>
        <th>Check</th>
      </tr>
    </thead>
    <tbody>
      ${Object.entries(mapping.definition.fields).map(([name, field]) => {
        const mine = issues.filter((i) => fieldOfIssue(i) === name);
        return html`<tr data-field="${name}" class="${mine.length > 0 ? 'problem' : ''}">
          <th><code>${name}</code></th>
          <td>←</td>
          <td><code>${describeOrigin(field.origin)}</code></td>
          <td>${field.transforms.map(describeTransform).join(', ') || '-'}</td>
          <td class="${mine.length > 0 ? 'bad' : 'ok'}" data-col="check">
            ${
              mine.length > 0
                ? mine.map((i) => html`<div>${i.message}</div>`)
                : check.status === 'ok'
                  ? 'OK'
                  : ''
            }
          </td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

function statusTable(status: StatusDefinition | null): Markup {
  if (!status) return html`<p>No status section: outcomes are not read from this CRM.</p>`;
  const rules = Object.entries(status.rules).flatMap(([outcome, list]) =>
    list.map(
      (rule) =>
        html`<tr>
          <td>${outcome}</td>
          <td>${rule.entity}</td>
          <td>
            <code
              >${Object.entries(rule.when)
                .map(([f, values]) => `${f} = ${values.join(' | ')}`)
                .join(', ')}</code
            >
          </td>
        </tr>`,
    ),
  );
  const accept = Object.entries(status.acceptFields).map(
    ([name, field]) =>
      html`<tr>
        <td>accept ${name}</td>
        <td colspan="2">
          <code>${field ? describeOrigin(field.origin) : ''}</code>
          ${field?.transforms.map(describeTransform).join(', ') ?? ''}
        </td>
      </tr>`,
  );
  return html`<table data-testid="status-map">
    <thead>
      <tr>
        <th>Partner Center outcome</th>
        <th>CRM record</th>
        <th>When</th>
      </tr>
    </thead>
    <tbody>
      ${rules} ${accept}
    </tbody>
  </table>`;
}

const CHANGE_WORDS: Record<FieldPreview['change'], string> = {
  new: 'new (no record yet)',
  changed: 'would change',
  unchanged: 'unchanged',
  unknown: 'not read back from the CRM',
  empty: 'empty: not written',
  error: 'error',
};

function previewTable(preview: TargetPreview): Markup {
  return html`<p>
      ${
        preview.record
          ? html`CRM record <code>${preview.record.recordId}</code>: a sync would update it.`
          : 'No CRM record yet: a sync would create one.'
      }
    </p>
    <table data-testid="preview">
      <thead>
        <tr>
          <th>CRM field</th>
          <th>Source</th>
          <th>Source value</th>
          <th>Transform steps</th>
          <th>CRM value</th>
          <th>In the CRM now</th>
          <th>Difference</th>
        </tr>
      </thead>
      <tbody>
        ${preview.fields.map(
          (f) =>
            html`<tr data-field="${f.field}" class="${f.change}">
              <th><code>${f.field}</code></th>
              <td><code>${f.source}</code></td>
              <td>${show(f.input)}</td>
              <td>${f.steps.map((s) => html`<div>${s.transform} → ${show(s.value)}</div>`)}</td>
              <td>
                ${f.change === 'error' ? html`<span class="bad">${f.error}</span>` : show(f.value)}
              </td>
              <td>${show(f.current)}</td>
              <td data-col="change">${CHANGE_WORDS[f.change]}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${
      preview.errors.length > 0
        ? html`<p class="bad">
            A sync would quarantine this referral:
            ${preview.errors.map((e) => `${e.field}: ${e.message}`).join('; ')}
          </p>`
        : ''
    }`;
}

async function targetSection(
  services: ConsoleServices,
  target: TargetConfig,
  referralId: string,
): Promise<Markup> {
  let mapping: CompiledMapping;
  try {
    mapping = await services.mapping(target);
  } catch (error) {
    return html`<section>
      <h2>${target.name}</h2>
      <p class="bad">${(error as Error).message}</p>
    </section>`;
  }
  const [check, preview] = await Promise.all([
    services.checkMapping(target.name),
    referralId === ''
      ? null
      : services.preview(referralId, target.name).catch((error: unknown) => error as Error),
  ]);
  return html`<section data-testid="target-${target.name}">
    <h2>
      ${target.name}
      <small>${target.kind} ${mapping.entity}, ${mapping.file ?? 'bundled mapping'}</small>
    </h2>
    ${checkSummary(check)} ${fieldsTable(mapping, check)}
    <h3>Status map (CRM → Partner Center)</h3>
    ${statusTable(mapping.definition.status)}
    ${
      preview === null
        ? ''
        : html`<h3>Preview of referral <code>${referralId}</code></h3>
            ${
              preview instanceof Error
                ? html`<p class="bad">${preview.message}</p>`
                : previewTable(preview)
            }`
    }
  </section>`;
}

export async function mappingsPage(
  services: ConsoleServices,
  visitor: Visitor,
  choice: { target: string; referral: string },
): Promise<Markup> {
  const all = services.config().targets.filter((t) => t.enabled);
  const targets = choice.target === '' ? all : all.filter((t) => t.name === choice.target);
  const recent = await listUnansweredReferrals(services.ledger().db, 20);
  const sections = await Promise.all(
    targets.map((t) => targetSection(services, t, choice.referral)),
  );
  return page(
    { title: 'Mappings', section: '/mappings', visitor },
    html`<p>
        Where each CRM field's value comes from, checked now against the CRM's own metadata. Edit
        the mapping file named under each target; pick a referral to see its values side by side
        with what the CRM holds.
      </p>
      <form method="get" action="${BASE}/mappings" class="search">
        <label
          >Preview referral
          <input name="referral" value="${choice.referral}" list="recent-referrals" />
        </label>
        <datalist id="recent-referrals">
          ${recent.map((r) => html`<option value="${r.referralId}">${r.customerName}</option>`)}
        </datalist>
        <input type="hidden" name="target" value="${choice.target}" />
        <button type="submit">Preview</button>
      </form>
      ${sections}`,
  );
}
