#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# Stop-SSMSession, Resume-SSMSession and Connect-SSMSession with the native calls mocked:
# the AWS Tools parameter surface, -Select/-PassThru, ShouldProcess, and what is sent.

Describe 'Stop-SSMSession and Resume-SSMSession (native calls mocked)' {
    BeforeAll {
        Import-Module $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path (Split-Path $PSScriptRoot -Parent) 'SSMSession.psd1' }) -Force
        $resolved = [pscustomobject]@{
            Ok   = $true
            Data = [pscustomobject]@{ Region = 'eu-west-3'; RegionSource = 'Parameter'; CredentialSource = 'Parameters' }
        }
        $terminated = [pscustomobject]@{
            Ok   = $true
            Data = [pscustomobject]@{ SessionId = 'alice-0123456789abcdef0'; RequestId = 'req-1'; HttpStatusCode = 200; ContentLength = 40 }
        }
        $resumed = [pscustomobject]@{
            Ok   = $true
            Data = [pscustomobject]@{
                SessionId = 'alice-0123456789abcdef0'; StreamUrl = 'wss://example/v1/data-channel/alice-0123456789abcdef0'; TokenValue = 'new-token'
                RequestId = 'req-2'; HttpStatusCode = 200; ContentLength = 300
            }
        }
        $keys = @{ Region = 'eu-west-3'; AccessKey = 'AKIDTEST'; SecretKey = 'secret' }
    }

    BeforeEach {
        Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'ResolveClient' } { $resolved }
        Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'TerminateSession' } { $terminated }
        Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'ResumeSession' } { $resumed }
    }

    It '<Command> declares SessionId as AWS Tools does: position 0, mandatory, by value and by property name' -ForEach @(
        @{ Command = 'Stop-SSMSession' }, @{ Command = 'Resume-SSMSession' }
    ) {
        $parameter = (Get-Command $Command).Parameters['SessionId']
        $parameter.ParameterType | Should -Be ([string])
        $attribute = $parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
        $attribute.Position | Should -Be 0
        $attribute.Mandatory | Should -BeTrue
        $attribute.ValueFromPipeline | Should -BeTrue
        $attribute.ValueFromPipelineByPropertyName | Should -BeTrue
        $obsolete = (Get-Command $Command).Parameters['PassThru'].Attributes | Where-Object { $_ -is [System.ObsoleteAttribute] }
        $obsolete.Message | Should -Be "The -PassThru parameter is deprecated, use -Select '^SessionId' instead. This parameter will be removed in a future version."
        (Get-Command $Command).Parameters.Keys | Should -Contain 'ProfileName'
        (Get-Command $Command).Parameters['ProfileName'].Aliases | Should -Be @('StoredCredentials', 'AWSProfileName')
    }

    It 'Stop-SSMSession outputs the SessionId by default and sends the id with the client settings' {
        Stop-SSMSession alice-0123456789abcdef0 -Force @keys | Should -Be 'alice-0123456789abcdef0'
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter {
            $Operation -eq 'TerminateSession' -and $Request.SessionId -eq 'alice-0123456789abcdef0' -and
            $Request.Client.AccessKey -eq 'AKIDTEST' -and $Request.Client.Region -eq 'eu-west-3'
        }
    }

    It 'Stop-SSMSession -Select * returns the TerminateSessionResponse with AWS Tools metadata' {
        $response = Stop-SSMSession alice-0123456789abcdef0 -Select '*' -Force @keys
        $response.PSObject.TypeNames[0] | Should -Be 'Amazon.SimpleSystemsManagement.Model.TerminateSessionResponse'
        $response.ResponseMetadata.RequestId | Should -Be 'req-1'
        $response.ContentLength | Should -Be 40
        $response.PSObject.Properties.Name | Should -Not -Contain 'TokenValue'
    }

    It 'Resume-SSMSession returns the whole response by default; -Select picks a property' {
        $response = Resume-SSMSession alice-0123456789abcdef0 -Force @keys
        $response.PSObject.TypeNames[0] | Should -Be 'Amazon.SimpleSystemsManagement.Model.ResumeSessionResponse'
        $response.TokenValue | Should -Be 'new-token'
        Resume-SSMSession alice-0123456789abcdef0 -Select StreamUrl -Force @keys | Should -BeLike 'wss://*'
    }

    It '-PassThru outputs the bound SessionId and cannot be combined with -Select' {
        Resume-SSMSession alice-x -PassThru -Force @keys | Should -Be 'alice-x'
        { Stop-SSMSession alice-x -PassThru -Select '*' -Force @keys } |
            Should -Throw -ErrorId 'System.ArgumentException,Stop-SSMSession' -ExpectedMessage '-PassThru cannot be used when -Select is specified.*'
        { Stop-SSMSession alice-x -Select TokenValue -Force @keys } |
            Should -Throw -ErrorId 'System.ArgumentException,Stop-SSMSession' -ExpectedMessage 'Invalid value for -Select parameter.*'
    }

    It 'binds SessionId from piped strings and from objects with a SessionId property' {
        'alice-1', 'alice-2' | Stop-SSMSession -Force @keys | Should -HaveCount 2
        [pscustomobject]@{ SessionId = 'alice-3' } | Stop-SSMSession -Force @keys | Should -Be 'alice-0123456789abcdef0'
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'TerminateSession' -and $Request.SessionId -eq 'alice-3' }
    }

    It 'calls nothing with -WhatIf, even with -Force' {
        Stop-SSMSession alice-x -WhatIf -Force @keys | Should -BeNullOrEmpty
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 0 -ParameterFilter { $Operation -eq 'TerminateSession' }
    }

    # The commands take their caller's preferences as a compiled cmdlet does; their own
    # common parameters win.
    It '<Command> calls nothing when its caller sets $WhatIfPreference, and calls with -WhatIf:$false' -ForEach @(
        @{ Command = 'Stop-SSMSession'; Expected = 'TerminateSession' }, @{ Command = 'Resume-SSMSession'; Expected = 'ResumeSession' }
    ) {
        $WhatIfPreference = $true
        & $Command alice-x -Force @keys | Should -BeNullOrEmpty
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 0 -ParameterFilter { $Operation -eq $Expected }
        & $Command alice-x -Force -WhatIf:$false @keys | Should -Not -BeNullOrEmpty
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq $Expected }
    }

    It '<Command> writes debug and verbose messages when its caller asks for them, and none when -Debug:$false and -Verbose:$false' -ForEach @(
        @{ Command = 'Stop-SSMSession' }, @{ Command = 'Resume-SSMSession' }
    ) {
        $DebugPreference = 'Continue'
        $VerbosePreference = 'Continue'
        $records = & $Command alice-x -Force @keys 4>&1 5>&1 | Where-Object { $_ -is [System.Management.Automation.InformationalRecord] }
        ($records | Where-Object { $_ -is [System.Management.Automation.DebugRecord] }).Message | Should -Contain "Region obtained from region parameter with value 'eu-west-3'"
        ($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Match '^Invoking AWS Systems Manager operation'
        $quiet = & $Command alice-x -Force -Debug:$false -Verbose:$false @keys 4>&1 5>&1 | Where-Object { $_ -is [System.Management.Automation.InformationalRecord] }
        $quiet | Should -BeNullOrEmpty
    }

    It 'turns a service error into an AWS Tools error record' {
        Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'ResumeSession' } {
            [pscustomobject]@{ Ok = $false; Error = [pscustomobject]@{ Kind = 'service'; Code = 'DoesNotExistException'; Message = 'Session alice-x does not exist or has ended.'; RequestId = 'r'; HttpStatus = 400 } }
        }
        { Resume-SSMSession alice-x -Force @keys } |
            Should -Throw -ErrorId 'Amazon.SimpleSystemsManagement.Model.DoesNotExistException,Resume-SSMSession' -ExpectedMessage 'Session alice-x does not exist or has ended.'
    }
}

Describe 'Connect-SSMSession (native calls mocked)' {
    BeforeAll {
        Import-Module $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path (Split-Path $PSScriptRoot -Parent) 'SSMSession.psd1' }) -Force
        $resolved = [pscustomobject]@{
            Ok   = $true
            Data = [pscustomobject]@{ Region = 'eu-west-3'; RegionSource = 'Parameter'; CredentialSource = 'Parameters' }
        }
        $opened = [pscustomobject]@{
            Ok   = $true
            Data = [pscustomobject]@{
                SessionId = 'alice-1'; LocalAddress = '127.0.0.1'; LocalPort = 15432; Mode = 'Multiplexed'
                AgentVersion = '3.3.3572.0'; CustomerMessage = ''; Handle = 7
            }
        }
        $stopped = [pscustomobject]@{
            Ok   = $true
            Data = [pscustomobject]@{ Handle = 7; SessionId = 'alice-1'; State = 'Stopped'; Message = $null; Statistics = [pscustomobject]@{ ConnectionsTotal = 0 } }
        }
        $keys = @{ Region = 'eu-west-3'; AccessKey = 'AKIDTEST'; SecretKey = 'secret' }
        $piped = [pscustomobject]@{ SessionId = 'alice-1'; StreamUrl = 'wss://example/v1/data-channel/alice-1'; TokenValue = 'token' }
    }

    BeforeEach {
        Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'ResolveClient' } { $resolved }
        Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'StartPortForward' } { $opened }
        Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'StopPortForward' } { $stopped }
        Mock -ModuleName SSMSession Register-SSMPortForwardCleanup { }
    }

    It 'binds SessionId, StreamUrl and TokenValue from a piped StartSession response' {
        $command = Get-Command Connect-SSMSession
        foreach ($name in 'SessionId', 'StreamUrl', 'TokenValue') {
            $attribute = $command.Parameters[$name].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
            $attribute.ValueFromPipelineByPropertyName | Should -BeTrue
            $attribute.Mandatory | Should -BeTrue
        }
        $command.ParameterSets.Name | Sort-Object | Should -Be @('Session', 'Target')
    }

    It 'sends the session, the local port, chunking, the keepalive and the client settings' {
        $forward = $piped | Connect-SSMSession -AsJob -LocalPortNumber 0 -ChunkSize 1024 -PaceMicroseconds 1000 -KeepAliveSec 15 -KeepSession @keys
        $forward.LocalPort | Should -Be 15432
        $forward.Handle | Should -Be 7
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter {
            $Operation -eq 'StartPortForward' -and $Request.SessionId -eq 'alice-1' -and $Request.TokenValue -eq 'token' -and
            $Request.LocalPortNumber -eq 0 -and $Request.ChunkSize -eq 1024 -and $Request.PaceMicroseconds -eq 1000 -and
            $Request.KeepAliveSeconds -eq 15 -and $Request.KeepSession -eq $true -and $Request.Client.AccessKey -eq 'AKIDTEST'
        }
    }

    It 'Stop() stops the native forward once and keeps its final status' {
        $forward = $piped | Connect-SSMSession -AsJob @keys
        $forward.Stop()
        $forward.Stop()
        $forward.State | Should -Be 'Stopped'
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StopPortForward' -and $Request.Handle -eq 7 }
    }

    It 'rejects out-of-range values before calling anything' {
        { $piped | Connect-SSMSession -LocalPortNumber 70000 @keys } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Connect-SSMSession'
        { $piped | Connect-SSMSession -ChunkSize 0 @keys } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Connect-SSMSession'
        { $piped | Connect-SSMSession -KeepAliveSec -1 @keys } | Should -Throw -ErrorId 'ParameterArgumentValidationError,Connect-SSMSession'
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 0 -ParameterFilter { $Operation -eq 'StartPortForward' }
    }

    It 'starts nothing with -WhatIf' {
        $piped | Connect-SSMSession -WhatIf @keys | Should -BeNullOrEmpty
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 0 -ParameterFilter { $Operation -eq 'StartPortForward' }
    }
}

Describe 'Enter-SSMSession and Connect-SSMSession to a shell (native calls mocked)' {
    BeforeAll {
        Import-Module $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path (Split-Path $PSScriptRoot -Parent) 'SSMSession.psd1' }) -Force
        $resolved = [pscustomobject]@{
            Ok   = $true
            Data = [pscustomobject]@{ Region = 'eu-west-3'; RegionSource = 'Parameter'; CredentialSource = 'Parameters' }
        }
        $started = [pscustomobject]@{
            Ok   = $true
            Data = [pscustomobject]@{ SessionId = 'alice-2'; StreamUrl = 'wss://example/v1/data-channel/alice-2'; TokenValue = 'token' }
        }
        $ranShell = [pscustomobject]@{
            Ok   = $true
            Data = [pscustomobject]@{ SessionId = 'alice-2'; State = 'Closed'; Message = 'Exiting session with sessionId: alice-2.'; Escaped = $false; ExitCode = 6; AgentVersion = '3.3.3572.0' }
        }
        $keys = @{ Region = 'eu-west-3'; AccessKey = 'AKIDTEST'; SecretKey = 'secret' }
    }

    BeforeEach {
        Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'ResolveClient' } { $resolved }
        Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'StartSession' } { $started }
        Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'RunShell' } { $ranShell }
        Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'TerminateSession' } { [pscustomobject]@{ Ok = $true; Data = $null } }
    }

    It 'starts a shell session, attaches it with the escape character, and reports the result and exit code' {
        $global:LASTEXITCODE = 0
        $result = Enter-SSMSession -Target i-0123456789abcdef0 -EscapeCharacter '%' -PassThru @keys
        $result.PSObject.TypeNames[0] | Should -Be 'SSMSession.ShellResult'
        $result.State | Should -Be 'Closed'
        $result.ExitCode | Should -Be 6
        $result.Target | Should -Be 'i-0123456789abcdef0'
        $global:LASTEXITCODE | Should -Be 6
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -ParameterFilter {
            $Operation -eq 'StartSession' -and -not $Request.Contains('DocumentName') -and $Request.Target -eq 'i-0123456789abcdef0'
        }
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -ParameterFilter {
            $Operation -eq 'RunShell' -and $Request.EscapeCharacter -eq '%' -and $Request.Session.SessionId -eq 'alice-2' -and
            $Request.Session.Target -eq 'i-0123456789abcdef0' -and $Request.Session.TokenValue -eq 'token'
        }
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 0 -ParameterFilter { $Operation -eq 'TerminateSession' }
    }

    It '-Command starts AWS-StartInteractiveCommand with the command' {
        Enter-SSMSession i-1 -Command 'top -b' @keys
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -ParameterFilter {
            $Operation -eq 'StartSession' -and $Request.DocumentName -eq 'AWS-StartInteractiveCommand' -and $Request.Parameters.command[0] -eq 'top -b'
        }
    }

    It 'refuses a bad escape character, and -Command with a document, before starting anything' {
        { Enter-SSMSession i-1 -EscapeCharacter 'ab' @keys } | Should -Throw -ErrorId 'SSMSession.InvalidEscapeCharacter,Enter-SSMSession'
        { Enter-SSMSession i-1 -EscapeCharacter ' ' @keys } | Should -Throw -ErrorId 'SSMSession.InvalidEscapeCharacter,Enter-SSMSession'
        { Enter-SSMSession i-1 -Command 'x' -DocumentName 'AWS-StartInteractiveCommand' @keys } | Should -Throw -ErrorId 'SSMSession.CommandWithDocument,Enter-SSMSession'
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 0 -ParameterFilter { $Operation -eq 'StartSession' }
    }

    It 'terminates a session it started when the channel could not be attached' {
        Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'RunShell' } {
            [pscustomobject]@{ Ok = $false; Error = [pscustomobject]@{ Kind = 'dataChannel'; Code = 'HandshakeTimeout'; Message = 'no handshake'; RequestId = $null; HttpStatus = $null } }
        }
        { Enter-SSMSession i-1 @keys } | Should -Throw
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -ParameterFilter { $Operation -eq 'TerminateSession' -and $Request.SessionId -eq 'alice-2' }
    }

    It 'attaches a piped session without starting one, and starts nothing with -WhatIf' {
        [pscustomobject]@{ SessionId = 'bob-1'; StreamUrl = 'wss://example/v1/data-channel/bob-1'; TokenValue = 't' } | Enter-SSMSession @keys
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 0 -ParameterFilter { $Operation -eq 'StartSession' }
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -ParameterFilter { $Operation -eq 'RunShell' -and $Request.Session.SessionId -eq 'bob-1' }
        Enter-SSMSession i-1 -WhatIf @keys
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 0 -ParameterFilter { $Operation -eq 'StartSession' }
    }

    It 'Connect-SSMSession -Target without a port document opens a shell; port-only parameters are refused there' {
        Connect-SSMSession -Target i-1 -KeepSession @keys
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -ParameterFilter { $Operation -eq 'RunShell' -and $Request.Session.KeepSession }
        { Connect-SSMSession -Target i-1 -LocalPortNumber 5 @keys } | Should -Throw -ErrorId 'SSMSession.PortParameterForShell,Connect-SSMSession'
        Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -ParameterFilter { $Operation -eq 'RunShell' }
    }
}
