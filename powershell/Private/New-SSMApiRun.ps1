function New-SSMApiRun {
    <#
    .SYNOPSIS
    What one run of Start-, Stop- or Resume-SSMSession carries across its pipeline records.

    .DESCRIPTION
    Called in the command's begin block, where $PSBoundParameters holds only command-line
    arguments: ExplicitParameters tells an explicit -Credential from an object bound from
    the pipeline later. The rest is for $AWSHistory as AWS Tools V4 records it — one record
    per command (Complete-SSMApiRun), pushed at the end or before a terminating error, with
    each service response stamped LoggedAt.

    .PARAMETER BoundParameters
    The command's $PSBoundParameters in its begin block.
    #>
    # A plain function, not an advanced one: it runs on every call of Start-, Stop- and
    # Resume-SSMSession (see "Plain functions" in SSMSession.psm1).
    [OutputType([pscustomobject])]
    param(
        [System.Collections.IDictionary] $BoundParameters
    )

    [pscustomobject]@{
        ExplicitParameters = @($BoundParameters.Keys)
        Start              = [datetime]::Now
        Responses          = [System.Collections.Generic.List[object]]::new()
        EmittedCount       = 0
        Recorded           = $false
    }
}
