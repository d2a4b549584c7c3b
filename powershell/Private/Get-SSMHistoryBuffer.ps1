function Get-SSMHistoryBuffer {
    <#
    .SYNOPSIS
    The global $AWSHistory buffer that SSMSession records into, created on first use.

    .DESCRIPTION
    AWS Tools for PowerShell V4 keeps $AWSHistory: Commands (oldest first), LastCommand,
    LastServiceResponse, LastServiceRequest, at most MaxCmdletHistory (5) commands of at
    most MaxServiceCallHistory (5) responses each. SSMSession keeps a compatible buffer.
    When $AWSHistory already holds something else (AWS Tools' own buffer, or a user's
    variable), SSMSession leaves it alone and records nothing: returns $null.

    .PARAMETER Cmdlet
    The calling cmdlet, to reach the global scope of its session.
    #>
    [CmdletBinding()]
    [OutputType([pscustomobject])]
    param(
        [Parameter(Mandatory)]
        [System.Management.Automation.PSCmdlet] $Cmdlet
    )

    $existing = $Cmdlet.SessionState.PSVariable.Get('global:AWSHistory')
    if ($existing) {
        $value = $existing.Value
        if ($null -ne $value -and $value.PSObject.TypeNames -contains 'SSMSession.AWSCmdletHistoryBuffer') {
            return $value
        }
        return $null
    }
    # LastCommand, LastServiceResponse and LastServiceRequest are plain properties that
    # Complete-SSMApiRun keeps current, not type data: a ScriptProperty in a runspace's
    # type table is captured by PowerShell's process-wide member-binding caches the first
    # time it is read, which keeps that runspace (and all it holds) alive for the life of
    # the process. With ForEach-Object -Parallel that leaked every runspace (measured:
    # ~50 MB per 8 runspaces x 1,000 calls). ToString is an instance method for the same
    # reason.
    $buffer = [pscustomobject]@{
        PSTypeName            = 'SSMSession.AWSCmdletHistoryBuffer'
        Commands              = [System.Collections.Generic.List[object]]::new()
        MaxCmdletHistory      = 5
        MaxServiceCallHistory = 5
        # $true keeps TokenValue in recorded responses (see Complete-SSMApiRun).
        IncludeSensitiveData  = $false
        LastCommand           = $null
        LastServiceResponse   = $null
        LastServiceRequest    = $null
    }
    $buffer.PSObject.Methods.Add([System.Management.Automation.PSScriptMethod]::new('ToString', {
                if ($this.Commands.Count -eq 0) { return '0 command(s) recorded' }
                '{0} command(s) recorded, last  = {1}' -f $this.Commands.Count, $this.LastCommand.CmdletName
            }))
    $Cmdlet.SessionState.PSVariable.Set([System.Management.Automation.PSVariable]::new('global:AWSHistory', $buffer))
    # PSVariable.Set with a scope-qualified name creates the variable in that scope.
    $Cmdlet.SessionState.PSVariable.GetValue('global:AWSHistory')
}
