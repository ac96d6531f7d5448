/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* completion/sbx.bash and completion/_sbx, built into the binary so that
   `sbx completion bash` works without an installed share directory.  */
__asm__(".section .rodata\n"
        ".balign 16\n"
        "sbx_completion_bash_text:\n"
        ".incbin \"completion/sbx.bash\"\n"
        ".byte 0\n"
        "sbx_completion_zsh_text:\n"
        ".incbin \"completion/_sbx\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char sbx_completion_bash_text[] __asm__("sbx_completion_bash_text");
extern const char sbx_completion_zsh_text[] __asm__("sbx_completion_zsh_text");

static const char completion_help[]
    = "Usage: sbx completion bash|zsh\n"
      "\n"
      "Print the shell completion script (commands, flags, image and container\n"
      "names).  `make install` also installs them under share/bash-completion and\n"
      "share/zsh/site-functions.\n"
      "\n"
      "Examples:\n"
      "  source <(sbx completion bash)\n"
      "  sbx completion zsh > ~/.zfunc/_sbx\n";

int
cli_completion (const struct cli_globals *g, int argc, char **argv)
{
  (void) g;
  if (argc == 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      fputs (completion_help, stdout);
      return 0;
    }
  if (argc == 2 && strcmp (argv[1], "bash") == 0)
    fputs (sbx_completion_bash_text, stdout);
  else if (argc == 2 && strcmp (argv[1], "zsh") == 0)
    fputs (sbx_completion_zsh_text, stdout);
  else
    return cli_usage_error ("completion", "expected bash or zsh");
  return 0;
}
