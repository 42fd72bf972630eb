// `aqe-upload completion bash|zsh|fish`: a shell completion script for the commands and their
// options, generated from the same command definitions the CLI parses (never out of date).

import { Command } from 'commander';
import { z } from 'zod';
import { type CliCommand, defineCommand } from './command.js';
import { parsed, usage } from './flags.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** What a completion script needs to know about one command. */
export interface CommandSpec {
  name: string;
  description: string;
  options: Array<{ long: string; short?: string; description: string; takesValue: boolean }>;
}

/** The specs of `commands`, as their own definitions declare them (plus the shared options). */
export function commandSpecs(commands: readonly CliCommand[]): CommandSpec[] {
  return commands.map((command) => {
    const cmd = command.define(new Command(command.name)).option('--json', 'one JSON document on stdout').option('-q, --quiet', 'less on stderr').option('-v, --verbose', 'more on stderr').option('-h, --help', 'help');
    return {
      name: command.name,
      description: cmd.description(),
      options: cmd.options
        .filter((o) => !o.hidden && o.long !== undefined)
        .map((o) => ({ long: o.long!, ...(o.short ? { short: o.short } : {}), description: o.description, takesValue: o.required || o.optional })),
    };
  });
}

/** The completion script for `shell`. Pure. */
export function completionScript(shell: Shell, specs: readonly CommandSpec[]): string {
  switch (shell) {
    case 'bash':
      return bashScript(specs);
    case 'zsh':
      return zshScript(specs);
    case 'fish':
      return fishScript(specs);
  }
}

function bashScript(specs: readonly CommandSpec[]): string {
  const cases = specs.map((s) => `    ${s.name}) opts="${s.options.flatMap((o) => [o.long, ...(o.short ? [o.short] : [])]).join(' ')}" ;;`).join('\n');
  const valueFlags = [...new Set(specs.flatMap((s) => s.options.filter((o) => o.takesValue).flatMap((o) => [o.long, ...(o.short ? [o.short] : [])])))].join('|');
  return `# aqe-upload completion for bash. Load it with:  source <(aqe-upload completion bash)
# or save it:  aqe-upload completion bash > ~/.local/share/bash-completion/completions/aqe-upload
_aqe_upload() {
  local cur prev cmd opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd="\${COMP_WORDS[1]}"
  if [[ \${COMP_CWORD} -eq 1 && "\${cur}" != -* ]]; then
    COMPREPLY=( $(compgen -W "${specs.map((s) => s.name).join(' ')}" -- "\${cur}") )
    return
  fi
  if [[ "\${cmd}" == completion && \${COMP_CWORD} -eq 2 ]]; then
    COMPREPLY=( $(compgen -W "${SHELLS.join(' ')}" -- "\${cur}") )
    return
  fi
  case "\${prev}" in
    ${valueFlags}) COMPREPLY=(); return ;;
  esac
  [[ \${COMP_CWORD} -eq 1 ]] && cmd=push
  case "\${cmd}" in
${cases}
    *) opts="--help --version" ;;
  esac
  if [[ "\${cur}" == -* ]]; then
    COMPREPLY=( $(compgen -W "\${opts}" -- "\${cur}") )
  fi
}
complete -o default -o bashdefault -F _aqe_upload aqe-upload
`;
}

function zshEscape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/'/g, "'\\''").replace(/\[/g, '\\[').replace(/\]/g, '\\]').replace(/:/g, '\\:');
}

function zshScript(specs: readonly CommandSpec[]): string {
  const commands = specs.map((s) => `    '${s.name}:${zshEscape(firstSentence(s.description))}'`).join('\n');
  const cases = specs
    .map((s) => {
      const args = s.options.flatMap((o) =>
        [o.long, ...(o.short ? [o.short] : [])].map((flag) => `'${flag}[${zshEscape(firstSentence(o.description))}]${o.takesValue ? `:value:${/workspace|dir/.test(o.long) ? '_files -/' : '_files'}` : ''}'`),
      );
      const extra = s.name === 'completion' ? ` '1:shell:(${SHELLS.join(' ')})'` : '';
      return `    ${s.name}) _arguments ${args.join(' ')}${extra} ;;`;
    })
    .join('\n');
  return `#compdef aqe-upload
# aqe-upload completion for zsh. Load it with:  source <(aqe-upload completion zsh)
# or save it as _aqe-upload in a folder of your $fpath.
_aqe_upload() {
  local -a commands
  commands=(
${commands}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'aqe-upload command' commands
    return
  fi
  local cmd=\${words[2]}
  (( CURRENT -= 1 ))
  shift words
  case \${cmd} in
${cases}
  esac
}
compdef _aqe_upload aqe-upload
`;
}

function fishEscape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
}

function fishScript(specs: readonly CommandSpec[]): string {
  const names = specs.map((s) => s.name).join(' ');
  const lines = [
    '# aqe-upload completion for fish. Load it with:  aqe-upload completion fish | source',
    '# or save it:  aqe-upload completion fish > ~/.config/fish/completions/aqe-upload.fish',
    'complete -c aqe-upload -f',
    ...specs.map((s) => `complete -c aqe-upload -n 'not __fish_seen_subcommand_from ${names}' -a ${s.name} -d '${fishEscape(firstSentence(s.description))}'`),
    `complete -c aqe-upload -n '__fish_seen_subcommand_from completion' -a '${SHELLS.join(' ')}'`,
  ];
  for (const s of specs) {
    for (const o of s.options) {
      const short = o.short ? ` -s ${o.short.replace(/^-/, '')}` : '';
      lines.push(`complete -c aqe-upload -n '__fish_seen_subcommand_from ${s.name}' -l ${o.long.replace(/^--/, '')}${short}${o.takesValue ? ' -r -F' : ''} -d '${fishEscape(firstSentence(o.description))}'`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function firstSentence(s: string): string {
  const cut = s.split(/[;(]/)[0]!.trim();
  return cut.length > 70 ? `${cut.slice(0, 69)}…` : cut;
}

/** `completion` itself: it needs the full list, which imports it, hence the getter. */
export function completionCommand(commands: () => readonly CliCommand[]): CliCommand {
  return defineCommand({
    name: 'completion',
    flags: z.object({
      shell: parsed((v) => ((SHELLS as readonly string[]).includes(v) ? (v as Shell) : usage(`completion ${v}: expected one of ${SHELLS.join(', ')}`, 'source <(aqe-upload completion bash)'))).pipe(z.enum(SHELLS)),
    }),
    example: 'source <(aqe-upload completion bash)',
    define: (cmd) =>
      cmd
        .description('print a shell completion script: source <(aqe-upload completion bash); zsh and fish too')
        .argument('<shell>', SHELLS.join(' | ')),
    async run(flags, _config, io) {
      const script = completionScript(flags.shell, commandSpecs(commands()));
      io.stdout.write(flags.json ? `${JSON.stringify({ shell: flags.shell, script }, null, 2)}\n` : script);
      return 'ok';
    },
  });
}
