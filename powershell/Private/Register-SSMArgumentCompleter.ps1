function Register-SSMArgumentCompleter {
    <#
    .SYNOPSIS
    Registers tab completion for -Region and -ProfileName of every command, -DocumentName
    of Start- and Connect-SSMSession, and -Select of Start-, Stop- and Resume-SSMSession.

    .DESCRIPTION
    Completion is local and instant: static region and document lists, profile names read
    from the shared config and credentials files (or -ProfileLocation) when Tab is pressed,
    and the -Select values the cmdlet accepts. Nothing touches the network.
    #>
    [CmdletBinding()]
    [OutputType([void])]
    param()

    $complete = {
        param([string[]] $Values, [string] $WordToComplete)
        $prefix = $WordToComplete.Trim("'", '"')
        foreach ($value in $Values) {
            if ($value -like "$prefix*") {
                $text = if ($value -match '[\s^*]') { "'$value'" } else { $value }
                [System.Management.Automation.CompletionResult]::new($text, $value, 'ParameterValue', $value)
            }
        }
    }.GetNewClosure()

    $regions = @(
        'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1', 'ap-south-2',
        'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'ap-southeast-5', 'ap-southeast-7',
        'ca-central-1', 'ca-west-1', 'cn-north-1', 'cn-northwest-1', 'eu-central-1', 'eu-central-2', 'eu-north-1',
        'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'il-central-1', 'me-central-1', 'me-south-1',
        'mx-central-1', 'sa-east-1', 'us-east-1', 'us-east-2', 'us-gov-east-1', 'us-gov-west-1', 'us-west-1', 'us-west-2'
    )
    $documents = @(
        'AWS-StartInteractiveCommand', 'AWS-StartNonInteractiveCommand', 'AWS-StartPortForwardingSession',
        'AWS-StartPortForwardingSessionToRemoteHost', 'AWS-StartPortForwardingSessionToSocket', 'AWS-StartSSHSession',
        'SSM-SessionManagerRunShell'
    )
    $selectValues = @('*', 'SessionId', 'StreamUrl', 'TokenValue', 'SessionId.Length', '^DocumentName', '^Parameter', '^Reason', '^Target')

    $allCommands = 'Start-SSMSession', 'Stop-SSMSession', 'Resume-SSMSession', 'Connect-SSMSession'
    $completions = @(
        @{ Commands = $allCommands; Parameter = 'Region'; Values = $regions }
        @{ Commands = 'Start-SSMSession', 'Connect-SSMSession'; Parameter = 'DocumentName'; Values = $documents }
        @{ Commands = 'Start-SSMSession'; Parameter = 'Select'; Values = $selectValues }
        @{ Commands = 'Stop-SSMSession'; Parameter = 'Select'; Values = @('SessionId', '*', 'SessionId.Length', '^SessionId') }
        @{ Commands = 'Resume-SSMSession'; Parameter = 'Select'; Values = @('*', 'SessionId', 'StreamUrl', 'TokenValue', '^SessionId') }
    )
    foreach ($completion in $completions) {
        $values = $completion.Values
        Register-ArgumentCompleter -CommandName $completion.Commands -ParameterName $completion.Parameter -ScriptBlock {
            param($commandName, $parameterName, $wordToComplete)
            $null = $commandName, $parameterName
            & $complete $values $wordToComplete
        }.GetNewClosure()
    }
    Register-ArgumentCompleter -CommandName $allCommands -ParameterName ProfileName -ScriptBlock {
        param($commandName, $parameterName, $wordToComplete, $commandAst, $fakeBoundParameters)
        $null = $commandName, $parameterName, $commandAst
        $files = if ($fakeBoundParameters['ProfileLocation']) {
            @([string]$fakeBoundParameters['ProfileLocation'])
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
        & $complete @($names | Where-Object { $_ -notin 'sso-session', 'services' } | Sort-Object -Unique) $wordToComplete
    }.GetNewClosure()
}
