function ConvertTo-SSMShellCommand {
    <#
    .SYNOPSIS
    Wraps shell text for a NonInteractiveCommands session so that sh runs it, its exit code
    comes back, and nothing of it outlives the session.

    .DESCRIPTION
    The agent does not run NonInteractiveCommands through a shell: it splits the command
    line shell-style (Go shlex rules) and runs the first word. So the text goes to
    `sh -c <wrapper> ssmsession <text> <marker>`, every word single-quoted for that split.
    The wrapper (POSIX sh):
    - runs the text with sh in its own session and process group (setsid when the node has
      it; without it, only the text's own process can be signalled);
    - forwards Ctrl+C (SIGINT, which the agent sends to its direct child only) and
      TERM to that whole group as SIGTERM (sh starts background commands with SIGINT
      ignored, so SIGINT could not stop them), Ctrl+\ (SIGQUIT) as SIGKILL;
    - watches itself: when the agent kills it (TerminateSession), the group is killed
      within a second;
    - prints, as the very last bytes of standard output, RS <marker> ':' <code> RS (RS =
      0x1E), which the library takes off the output and reads as the exit code (the agent
      sends none with AWS-StartNonInteractiveCommand); the marker is random per call;
    - exits with the text's exit code (the agent's own exit code with separate-output
      documents).

    .PARAMETER Command
    The shell text.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [string] $Command
    )

    # No single quote anywhere in it: the whole script is one single-quoted word.
    $wrapper = @'
if command -v setsid >/dev/null 2>&1; then setsid sh -c "$1" & else sh -c "$1" & fi
c=$!
( while kill -0 $$ 2>/dev/null; do sleep 1; done; kill -KILL -$c $c 2>/dev/null ) </dev/null >/dev/null 2>&1 &
w=$!
i=
trap "i=1; kill -TERM -$c $c 2>/dev/null" INT TERM
trap "i=1; kill -KILL -$c $c 2>/dev/null" QUIT
wait $c; s=$?
while [ -n "$i" ]; do i=; wait $c; s=$?; done
kill $w 2>/dev/null
printf "\036%s:%d\036" "$2" "$s"
exit $s
'@ -replace "`r`n", "`n"
    $marker = [guid]::NewGuid().ToString('N')
    # Go shlex: inside single quotes everything is literal; '\'' puts a quote in.
    $quote = { param([string] $Word) "'" + $Word.Replace("'", "'\''") + "'" }
    [pscustomobject]@{
        CommandLine = 'sh -c {0} ssmsession {1} {2}' -f (& $quote $wrapper), (& $quote $Command), (& $quote $marker)
        Marker      = $marker
    }
}
