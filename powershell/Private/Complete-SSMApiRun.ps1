function Complete-SSMApiRun {
    <#
    .SYNOPSIS
    Records a run of Start-, Stop- or Resume-SSMSession in $AWSHistory, once.

    .DESCRIPTION
    Called from the command's end block, and before a terminating error (which skips the
    end block); the second call does nothing.

    .PARAMETER Cmdlet
    The public command's $PSCmdlet.

    .PARAMETER Run
    The run from New-SSMApiRun.
    #>
    # A plain function, not an advanced one: it runs on every call of Start-, Stop- and
    # Resume-SSMSession (see "Plain functions" in SSMSession.psm1).
    [OutputType([void])]
    param(
        [System.Management.Automation.PSCmdlet] $Cmdlet,

        [pscustomobject] $Run
    )

    if ($Run.Recorded) { return }
    $Run.Recorded = $true
    Add-SSMHistoryRecord -Cmdlet $Cmdlet -Start $Run.Start -Responses $Run.Responses -EmittedObjectsCount $Run.EmittedCount
}
