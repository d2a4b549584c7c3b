function Use-SSMCallerPreference {
    <#
    .SYNOPSIS
    Gives a public command its caller's preferences, unless its common parameters say otherwise.

    .DESCRIPTION
    A script module sees the global preference variables, not the caller's local ones as a
    compiled cmdlet does. This sets ConfirmPreference, WhatIfPreference, VerbosePreference
    and DebugPreference in the calling command's scope to the values its own caller has,
    for each whose common parameter (-Confirm, -WhatIf, -Verbose, -Debug) was not given.
    Dot-source it first in the command's begin block (or body):
    `. Use-SSMCallerPreference -Cmdlet $PSCmdlet -BoundParameters $PSBoundParameters`. Run
    in the command's scope, its current scope is the command's. (Set-Variable -Scope 1 did
    the same in ~0.5 ms per call, half of a warm Start-SSMSession's budget.)

    .PARAMETER Cmdlet
    The public command's $PSCmdlet: its SessionState is the caller's.

    .PARAMETER BoundParameters
    The public command's $PSBoundParameters.
    #>
    # A plain function, not an advanced one: it runs on every call of Start-, Stop- and
    # Resume-SSMSession (see "Plain functions" in SSMSession.psm1).
    [OutputType([void])]
    param(
        [System.Management.Automation.PSCmdlet] $Cmdlet,

        [System.Collections.IDictionary] $BoundParameters
    )

    # Dot-sourced, this runs in the command's scope: every variable made here would be the
    # command's too (a local named $command would replace Invoke-SSMSessionCommand's
    # -Command). So no locals; the parameters' names are used by no public command.
    # $ExecutionContext's current scope is the command's; $Cmdlet.SessionState is its caller's.
    if (-not $BoundParameters.ContainsKey('Confirm')) { $ExecutionContext.SessionState.PSVariable.Set('ConfirmPreference', $Cmdlet.SessionState.PSVariable.GetValue('ConfirmPreference')) }
    if (-not $BoundParameters.ContainsKey('WhatIf')) { $ExecutionContext.SessionState.PSVariable.Set('WhatIfPreference', $Cmdlet.SessionState.PSVariable.GetValue('WhatIfPreference')) }
    if (-not $BoundParameters.ContainsKey('Verbose')) { $ExecutionContext.SessionState.PSVariable.Set('VerbosePreference', $Cmdlet.SessionState.PSVariable.GetValue('VerbosePreference')) }
    if (-not $BoundParameters.ContainsKey('Debug')) { $ExecutionContext.SessionState.PSVariable.Set('DebugPreference', $Cmdlet.SessionState.PSVariable.GetValue('DebugPreference')) }
}
