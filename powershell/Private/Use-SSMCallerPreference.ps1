function Use-SSMCallerPreference {
    <#
    .SYNOPSIS
    Gives a public command its caller's preferences, unless its common parameters say otherwise.

    .DESCRIPTION
    A script module sees the global preference variables, not the caller's local ones as a
    compiled cmdlet does. This sets ConfirmPreference, WhatIfPreference, VerbosePreference
    and DebugPreference in the calling command's scope (one up from here) to the values its
    own caller has, for each whose common parameter (-Confirm, -WhatIf, -Verbose, -Debug)
    was not given. Call it first in the command's begin block (or body).

    .PARAMETER Cmdlet
    The public command's $PSCmdlet: its SessionState is the caller's.

    .PARAMETER BoundParameters
    The public command's $PSBoundParameters.
    #>
    [CmdletBinding()]
    [OutputType([void])]
    param(
        [Parameter(Mandatory)]
        [System.Management.Automation.PSCmdlet] $Cmdlet,

        [Parameter(Mandatory)]
        [System.Collections.IDictionary] $BoundParameters
    )

    $caller = $Cmdlet.SessionState.PSVariable
    foreach ($common in 'Confirm', 'WhatIf', 'Verbose', 'Debug') {
        if ($BoundParameters.ContainsKey($common)) { continue }
        $name = "${common}Preference"
        # -Confirm:$false and -WhatIf:$false: Set-Variable would itself ask, or only
        # pretend, under the preferences being copied.
        Set-Variable -Scope 1 -Name $name -Value $caller.GetValue($name) -Confirm:$false -WhatIf:$false
    }
}
