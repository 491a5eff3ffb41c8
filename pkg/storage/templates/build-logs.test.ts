import { describe, expect, it } from '@jest/globals';
import type { ProvisionerJobLog } from '../../coder/types.ts';
import { failureExcerpt } from './build-logs.ts';

let id = 0;
const line = (output: string, log_level: ProvisionerJobLog['log_level'] = 'error'): ProvisionerJobLog => ({
  id: ++id,
  created_at: '2026-12-02T18:30:09.907Z',
  log_source: 'provisioner',
  log_level,
  stage: 'Initializing Terraform Directory',
  output,
});

describe('failureExcerpt', () => {
  it("keeps Terraform's last diagnostic, as real Coder logs a syntax error", () => {
    const logs = [
      line('', 'info'),
      line('Initializing the backend...', 'info'),
      line('Terraform encountered problems during initialisation, including problems'),
      line('with the configuration, described below.'),
      line('Error: Unclosed configuration block'),
      line('  on main.tf line 1, in resource "terraform_data" "x":'),
      line('   1: resource "terraform_data" "x" {'),
      line('There is no closing brace for this block before the end of the file. This may'),
      line('be caused by incorrect brace nesting elsewhere in this file.'),
      line('', 'info'),
    ];
    expect(failureExcerpt(logs)).toEqual([
      'Error: Unclosed configuration block',
      '  on main.tf line 1, in resource "terraform_data" "x":',
      '   1: resource "terraform_data" "x" {',
      'There is no closing brace for this block before the end of the file. This may',
      'be caused by incorrect brace nesting elsewhere in this file.',
    ]);
  });

  it('takes the last error lines when none starts a diagnostic, and nothing from a log without errors', () => {
    const many = Array.from({ length: 30 }, (_, i) => line(`problem ${i}`));
    expect(failureExcerpt(many)).toEqual(Array.from({ length: 12 }, (_, i) => `problem ${i + 18}`));
    expect(failureExcerpt([line('all fine', 'info'), line('careful', 'warn')])).toEqual([]);
  });

  it('bounds what it keeps', () => {
    const long = 'x'.repeat(500);
    expect(failureExcerpt([line('Error: big'), line(long), line(long), line(long)])).toEqual(['Error: big', long, long]);
  });
});
