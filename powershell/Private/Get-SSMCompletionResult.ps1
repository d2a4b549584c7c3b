function Get-SSMCompletionResult {
    <#
    .SYNOPSIS
    Tab completion values for -Region, -DocumentName, -Select and -ProfileName.

    .DESCRIPTION
    Local and instant: static region and document lists, the -Select values each cmdlet
    accepts, and profile names read from the shared config and credentials files (or
    -ProfileLocation) when Tab is pressed. Nothing touches the network. Called by the
    completers Register-SSMArgumentCompleter registers.

    .PARAMETER CommandName
    The command being completed.

    .PARAMETER ParameterName
    The parameter being completed.

    .PARAMETER WordToComplete
    What the user typed so far (quotes allowed).

    .PARAMETER FakeBoundParameters
    The parameters already on the command line (for -ProfileLocation).
    #>
    [CmdletBinding()]
    [OutputType([System.Management.Automation.CompletionResult])]
    param(
        [string] $CommandName,

        [string] $ParameterName,

        [AllowEmptyString()]
        [string] $WordToComplete,

        [System.Collections.IDictionary] $FakeBoundParameters = @{}
    )

    $values = switch ($ParameterName) {
        'Region' {
            'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-south-2',
            'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-7',
            'ca-central-1', 'ca-west-1', 'cn-north-1', 'cn-northwest-1', 'eu-central-1', 'eu-central-2', 'eu-north-1',
            'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'il-central-1', 'me-central-1', 'me-south-1',
            'mx-central-1', 'sa-east-1', 'us-east-1', 'us-east-2', 'us-gov-east-1', 'us-gov-west-1', 'us-west-1', 'us-west-2'
        }
        'DocumentName' {
            'AWS-StartInteractiveCommand', 'AWS-StartNonInteractiveCommand', 'AWS-StartPortForwardingSession',
            'AWS-StartPortForwardingSessionToRemoteHost', 'AWS-StartPortForwardingSessionToSocket', 'AWS-StartSSHSession',
            'SSM-SessionManagerRunShell'
        }
        'Select' {
            switch ($CommandName) {
                'Start-SSMSession' { '*', 'SessionId', 'StreamUrl', 'TokenValue', 'SessionId.Length', '^DocumentName', '^Parameter', '^Reason', '^Target' }
                'Stop-SSMSession' { 'SessionId', '*', 'SessionId.Length', '^SessionId' }
                'Resume-SSMSession' { '*', 'SessionId', 'StreamUrl', 'TokenValue', '^SessionId' }
            }
        }
        'ProfileName' {
            $files = if ($FakeBoundParameters['ProfileLocation']) {
                @([string]$FakeBoundParameters['ProfileLocation'])
            } else {
                $awsFolder = [System.IO.Path]::Combine([System.Environment]::GetFolderPath('UserProfile'), '.aws')
                @(
                    $(if ($env:AWS_CONFIG_FILE) { $env:AWS_CONFIG_FILE } else { [System.IO.Path]::Combine($awsFolder, 'config') })
                    $(if ($env:AWS_SHARED_CREDENTIALS_FILE) { $env:AWS_SHARED_CREDENTIALS_FILE } else { [System.IO.Path]::Combine($awsFolder, 'credentials') })
                )
            }
            $names = foreach ($file in $files) {
                if (-not [System.IO.File]::Exists($file)) { continue }
                foreach ($line in [System.IO.File]::ReadLines($file)) {
                    if ($line -match '^\s*\[\s*(?:profile\s+)?([^\]\s]+)\s*\]') { $Matches[1] }
                }
            }
            @($names | Where-Object { $_ -notin 'sso-session', 'services' } | Sort-Object -Unique)
        }
    }

    $prefix = $WordToComplete.Trim("'", '"')
    foreach ($value in $values) {
        if ($value -like "$prefix*") {
            $text = if ($value -match '[\s^*]') { "'$value'" } else { $value }
            [System.Management.Automation.CompletionResult]::new($text, $value, 'ParameterValue', $value)
        }
    }
}
