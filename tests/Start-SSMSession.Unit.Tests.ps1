#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# Start-SSMSession with the native call mocked: what it sends, what it returns, how it
# reports failures. The real library is exercised in Start-SSMSession.Emulator.Tests.ps1.

Describe 'Start-SSMSession (native call mocked)' {
    BeforeAll {
        Import-Module $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path (Split-Path $PSScriptRoot -Parent) 'SSMSession.psd1' }) -Force
        $success = [pscustomobject]@{
            Ok   = $true
            Data = [pscustomobject]@{
                SessionId = 'alice-0123456789abcdef0'; StreamUrl = 'wss://example/v1/data-channel/x'; TokenValue = 'token'
                RequestId = 'req-1'; HttpStatusCode = 200; ContentLength = 123
            }
        }
        $resolved = [pscustomobject]@{
            Ok   = $true
            Data = [pscustomobject]@{ Region = 'eu-west-3'; RegionSource = 'Environment'; CredentialSource = 'Environment' }
        }
        function New-Failure([string]$Kind, [string]$Code, [string]$Message) {
            [pscustomobject]@{
                Ok    = $false
                Error = [pscustomobject]@{ Kind = $Kind; Code = $Code; Message = $Message; RequestId = 'req-2'; HttpStatus = 400 }
            }
        }
    }

    BeforeEach {
        Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'ResolveClient' } { $resolved }
        Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'StartSession' } { $success }
    }

    Context 'parameter declaration' {
        BeforeAll {
            $command = Get-Command Start-SSMSession
        }

        It 'declares <Name> as in AWS Tools (type <Type>, mandatory <Mandatory>, by value <ByValue>, aliases <Aliases>)' -ForEach @(
            @{ Name = 'DocumentName'; Type = [string]; Mandatory = $false; ByValue = $true; Aliases = @() }
            @{ Name = 'Parameter'; Type = [hashtable]; Mandatory = $false; ByValue = $false; Aliases = @('Parameters') }
            @{ Name = 'Reason'; Type = [string]; Mandatory = $false; ByValue = $false; Aliases = @() }
            @{ Name = 'Target'; Type = [string]; Mandatory = $true; ByValue = $false; Aliases = @() }
            @{ Name = 'Select'; Type = [string]; Mandatory = $false; ByValue = $false; Aliases = @() }
            @{ Name = 'PassThru'; Type = [switch]; Mandatory = $false; ByValue = $false; Aliases = @() }
            @{ Name = 'Force'; Type = [switch]; Mandatory = $false; ByValue = $false; Aliases = @() }
            @{ Name = 'ClientConfig'; Type = [object]; Mandatory = $false; ByValue = $false; Aliases = @() }
            @{ Name = 'AccessKey'; Type = [string]; Mandatory = $false; ByValue = $false; Aliases = @('AK') }
            @{ Name = 'SecretKey'; Type = [string]; Mandatory = $false; ByValue = $false; Aliases = @('SK', 'SecretAccessKey') }
            @{ Name = 'SessionToken'; Type = [string]; Mandatory = $false; ByValue = $false; Aliases = @('ST') }
            @{ Name = 'Credential'; Type = [object]; Mandatory = $false; ByValue = $true; Aliases = @() }
            @{ Name = 'ProfileName'; Type = [string]; Mandatory = $false; ByValue = $false; Aliases = @('StoredCredentials', 'AWSProfileName') }
            @{ Name = 'ProfileLocation'; Type = [string]; Mandatory = $false; ByValue = $false; Aliases = @('AWSProfilesLocation', 'ProfilesLocation') }
            @{ Name = 'NetworkCredential'; Type = [object]; Mandatory = $false; ByValue = $true; Aliases = @() }
            @{ Name = 'Region'; Type = [object]; Mandatory = $false; ByValue = $false; Aliases = @('RegionToCall') }
            @{ Name = 'EndpointUrl'; Type = [string]; Mandatory = $false; ByValue = $false; Aliases = @() }
        ) {
            $parameter = $command.Parameters[$Name]
            $parameter | Should -Not -BeNullOrEmpty
            $parameter.ParameterType | Should -Be $Type
            @($parameter.Aliases) | Should -Be $Aliases
            $attribute = $parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
            $attribute.Mandatory | Should -Be $Mandatory
            $attribute.ValueFromPipeline | Should -Be $ByValue
            $attribute.ValueFromPipelineByPropertyName | Should -BeTrue
        }

        It 'has no other parameters than the AWS Tools ones and the common ones' {
            $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
            $own = $command.Parameters.Keys | Where-Object { $_ -notin $common } | Sort-Object
            $own | Should -Be (@('DocumentName', 'Parameter', 'Reason', 'Target', 'Select', 'PassThru', 'Force', 'ClientConfig', 'AccessKey',
                    'SecretKey', 'SessionToken', 'Credential', 'ProfileName', 'ProfileLocation', 'NetworkCredential', 'Region', 'EndpointUrl') | Sort-Object)
        }

        It 'defaults -Select to * and marks -PassThru obsolete with the AWS Tools message' {
            (Get-Help Start-SSMSession -Parameter Select).defaultValue | Should -Be '*'
            $obsolete = $command.Parameters['PassThru'].Attributes | Where-Object { $_ -is [System.ObsoleteAttribute] }
            $obsolete.Message | Should -Be "The -PassThru parameter is deprecated, use -Select '^DocumentName' instead. This parameter will be removed in a future version."
        }

        It 'makes DocumentName the only positional parameter and binds it from the pipeline by value' {
            $positional = $command.Parameters.Values | Where-Object {
                $_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.Position -ge 0 }
            }
            @($positional.Name) | Should -Be @('DocumentName')
            $attribute = $command.Parameters['DocumentName'].Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }
            $attribute.Position | Should -Be 0
            $attribute.ValueFromPipeline | Should -BeTrue
            $attribute.ValueFromPipelineByPropertyName | Should -BeTrue
        }

        It 'requires Target but allows null and empty values' {
            $attributes = $command.Parameters['Target'].Attributes
            ($attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }).Mandatory | Should -BeTrue
            $attributes.TypeId.Name | Should -Contain 'AllowNullAttribute'
            $attributes.TypeId.Name | Should -Contain 'AllowEmptyStringAttribute'
        }

        It 'supports ShouldProcess with medium impact' {
            $command.Parameters.Keys | Should -Contain 'WhatIf'
            $metadata = [System.Management.Automation.CommandMetadata]::new($command)
            $metadata.ConfirmImpact | Should -Be 'Medium'
        }
    }

    Context 'request' {
        It 'sends only the API fields that were bound' {
            Start-SSMSession -Target i-1 | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter {
                $Operation -eq 'StartSession' -and $Request.Target -eq 'i-1' -and
                -not $Request.ContainsKey('DocumentName') -and -not $Request.ContainsKey('Reason') -and -not $Request.ContainsKey('Parameters')
            }
        }

        It 'turns -Parameter values into lists of strings' {
            Start-SSMSession -Target i-1 -Parameter @{ portNumber = 80; hosts = @('a', 'b'); name = 'x' } | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StartSession' -and
                ($Request.Parameters.portNumber -join ',') -eq '80' -and
                ($Request.Parameters.hosts -join ',') -eq 'a,b' -and
                @($Request.Parameters.name).Count -eq 1
            }
        }

        It 'rejects a null -Parameter value before calling the service' {
            { Start-SSMSession -Target i-1 -Parameter @{ portNumber = $null } } |
                Should -Throw -ErrorId 'System.ArgumentException,Start-SSMSession' -ExpectedMessage "*'portNumber'*"
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 0 -Exactly -ParameterFilter { $Operation -eq 'StartSession' }
        }

        It 'accepts a region as a string or as a region object' -ForEach @(
            @{ Value = 'eu-west-3' }
            @{ Value = [pscustomobject]@{ SystemName = 'eu-west-3' } }
            @{ Value = [pscustomobject]@{ Region = 'eu-west-3' } }
        ) {
            Start-SSMSession -Target i-1 -Region $Value | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StartSession' -and $Request.Client.Region -eq 'eu-west-3' }
        }

        It 'rejects a region of another type with the AWS Tools message' {
            { Start-SSMSession -Target i-1 -Region 42 } |
                Should -Throw -ExpectedMessage 'Unsupported parameter type; Region must be a string*'
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 0 -Exactly -ParameterFilter { $Operation -eq 'StartSession' }
        }

        It 'sends credential and endpoint parameters, by name or alias' {
            Start-SSMSession -Target i-1 -AK AKIDX -SecretAccessKey s -ST t -AWSProfileName p -EndpointUrl http://127.0.0.1:5 | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StartSession' -and
                $Request.Client.AccessKey -eq 'AKIDX' -and $Request.Client.SecretKey -eq 's' -and $Request.Client.SessionToken -eq 't' -and
                $Request.Client.ProfileName -eq 'p' -and $Request.Client.EndpointUrl -eq 'http://127.0.0.1:5'
            }
        }

        It 'resolves a relative -ProfileLocation against the PowerShell location' {
            Push-Location TestDrive:
            try {
                Start-SSMSession -Target i-1 -ProfileLocation 'creds' | Out-Null
            } finally {
                Pop-Location
            }
            $expected = Join-Path (Get-PSDrive TestDrive).Root 'creds'
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StartSession' -and $Request.Client.ProfileLocation -eq $expected }
        }

        It 'sends the AWS_* variables of this session, which native code cannot see on its own' {
            $env:AWS_SSMSESSION_UNIT_PROBE = 'seen'
            try {
                Start-SSMSession -Target i-1 | Out-Null
            } finally {
                Remove-Item Env:AWS_SSMSESSION_UNIT_PROBE
            }
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StartSession' -and
                $Request.Client.Environment['AWS_SSMSESSION_UNIT_PROBE'] -eq 'seen' -and -not $Request.Client.Environment.ContainsKey('PATH')
            }
        }

        It 'calls once per piped document name' {
            'AWS-StartSSHSession', 'AWS-StartPortForwardingSession' | Start-SSMSession -Target i-1 | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StartSession' -and $Request.DocumentName -eq 'AWS-StartSSHSession' }
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StartSession' -and $Request.DocumentName -eq 'AWS-StartPortForwardingSession' }
        }

        It 'binds piped objects by property name' {
            [pscustomobject]@{ Target = 'i-9'; DocumentName = 'AWS-StartSSHSession'; Region = 'ap-south-2'; Reason = 'why' } | Start-SSMSession | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StartSession' -and
                $Request.Target -eq 'i-9' -and $Request.DocumentName -eq 'AWS-StartSSHSession' -and $Request.Client.Region -eq 'ap-south-2' -and $Request.Reason -eq 'why'
            }
        }

        It 'says where it calls in the verbose stream' {
            $verbose = Start-SSMSession -Target i-1 -EndpointUrl http://127.0.0.1:5 -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
            $verbose.Message | Should -Contain "Invoking AWS Systems Manager operation 'StartSession' on endpoint 'http://127.0.0.1:5'"
        }
    }

    Context 'ShouldProcess' {
        It 'does not call the service with -WhatIf, even with -Force' {
            Start-SSMSession -Target i-1 -DocumentName AWS-StartSSHSession -WhatIf -Force | Should -BeNullOrEmpty
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 0 -Exactly -ParameterFilter { $Operation -eq 'StartSession' }
        }

        It 'does not call the service when $WhatIfPreference is set, even with -Force' {
            $WhatIfPreference = $true
            Start-SSMSession -Target i-1 -Force | Should -BeNullOrEmpty
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 0 -Exactly -ParameterFilter { $Operation -eq 'StartSession' }
        }

        It 'calls the service with -Force' {
            Start-SSMSession -Target i-1 -Force | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StartSession' }
        }
    }

    Context '-Select and -PassThru' {
        It 'selects <Select>' -ForEach @(
            @{ Select = 'SessionId'; Expected = 'alice-0123456789abcdef0' }
            @{ Select = 'sessionid'; Expected = 'alice-0123456789abcdef0' }
            @{ Select = 'TokenValue'; Expected = 'token' }
            @{ Select = 'SessionId.Length'; Expected = 23 }
            @{ Select = '^Target'; Expected = 'i-1' }
            @{ Select = '^documentname'; Expected = 'AWS-StartSSHSession' }
        ) {
            Start-SSMSession -Target i-1 -DocumentName AWS-StartSSHSession -Select $Select | Should -Be $Expected
        }

        It 'returns the bound hashtable for ^Parameters (an alias)' {
            $result = Start-SSMSession -Target i-1 -Parameter @{ portNumber = '80' } -Select '^Parameters'
            $result | Should -BeOfType [hashtable]
            $result.portNumber | Should -Be '80'
        }

        It 'rejects <Select> with "Invalid value for -Select parameter." and calls nothing' -ForEach @(
            @{ Select = '' }
            @{ Select = '^Region' }
            @{ Select = '^ProfileName' }
            @{ Select = 'ResponseMetadata' }
            @{ Select = 'HttpStatusCode' }
            @{ Select = 'SessionId.Nope' }
            @{ Select = 'SessionId.' }
            @{ Select = 'Nope' }
        ) {
            { Start-SSMSession -Target i-1 -Select $Select } |
                Should -Throw -ErrorId 'System.ArgumentException,Start-SSMSession' -ExpectedMessage 'Invalid value for -Select parameter.*'
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 0 -Exactly -ParameterFilter { $Operation -eq 'StartSession' }
        }

        It 'outputs nothing when the selected value is null' {
            Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'StartSession' } {
                [pscustomobject]@{ Ok = $true; Data = [pscustomobject]@{ SessionId = $null; StreamUrl = 'u'; TokenValue = 't'; RequestId = 'r'; HttpStatusCode = 200; ContentLength = 1 } }
            }
            @(Start-SSMSession -Target i-1 -Select SessionId).Count | Should -Be 0
            @(Start-SSMSession -Target i-1 -Select '^Reason').Count | Should -Be 0
        }

        It 'makes -PassThru output the document name, with the obsolete warning' {
            # The engine writes the obsolete warning while binding, so -WarningVariable does
            # not see it; the warning stream does.
            $all = Start-SSMSession -Target i-1 -DocumentName AWS-StartSSHSession -PassThru 3>&1
            $warnings = @($all | Where-Object { $_ -is [System.Management.Automation.WarningRecord] })
            $all | Where-Object { $_ -isnot [System.Management.Automation.WarningRecord] } | Should -Be 'AWS-StartSSHSession'
            $warnings | Should -HaveCount 1
            "$warnings" | Should -BeLike "Parameter 'PassThru' is obsolete.*use -Select '^DocumentName'*"
            @(Start-SSMSession -Target i-1 -PassThru -WarningAction SilentlyContinue).Count | Should -Be 0
        }

        It 'rejects -PassThru with -Select, after checking the -Select value' {
            { Start-SSMSession -Target i-1 -Select SessionId -PassThru -WarningAction SilentlyContinue } |
                Should -Throw -ExpectedMessage '-PassThru cannot be used when -Select is specified.*'
            { Start-SSMSession -Target i-1 -Select Nope -PassThru -WarningAction SilentlyContinue } |
                Should -Throw -ExpectedMessage 'Invalid value for -Select parameter.*'
        }

        It 'checks -Select only after ShouldProcess, so -WhatIf hides a bad value' {
            { Start-SSMSession -Target i-1 -Select Nope -WhatIf } | Should -Not -Throw
        }
    }

    Context 'order of operations' {
        It 'resolves credentials and region before ShouldProcess: -WhatIf still fails without them' {
            Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'ResolveClient' } {
                New-Failure 'region' 'NoRegion' 'No region specified or obtained from persisted/shell defaults.'
            }
            { Start-SSMSession -Target i-1 -WhatIf } | Should -Throw -ExpectedMessage 'No region specified*'
        }

        It 'resolves the client in the call itself when nothing is asked or shown first (one native round trip), and first with -WhatIf, -Verbose or -Debug' {
            Start-SSMSession -Target i-1 -Region eu-west-3 | Out-Null
            Start-SSMSession -Target i-2 -Region eu-west-3 -Force | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 0 -Exactly -ParameterFilter { $Operation -eq 'ResolveClient' }
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 2 -Exactly -ParameterFilter { $Operation -eq 'StartSession' }
            Start-SSMSession -Target i-1 -Region eu-west-3 -WhatIf | Out-Null
            Start-SSMSession -Target i-1 -Region eu-west-3 -Verbose 4>$null | Out-Null
            Start-SSMSession -Target i-1 -Region eu-west-3 -Debug 5>$null | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 3 -Exactly -ParameterFilter { $Operation -eq 'ResolveClient' }
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 4 -Exactly -ParameterFilter { $Operation -eq 'StartSession' }
        }

        It 'fails with the resolution error of the call itself (no ResolveClient first)' {
            Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'StartSession' } {
                New-Failure 'region' 'NoRegion' 'No region specified or obtained from persisted/shell defaults.'
            }
            $failure = { Start-SSMSession -Target i-1 } | Should -Throw -ExpectedMessage 'No region specified*' -PassThru
            $failure.CategoryInfo.Category | Should -Be 'InvalidOperation'
        }

        It 'writes the client''s warnings that the call reports (an opted-in plain-text endpoint)' {
            Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'StartSession' } {
                $data = $success.Data.PSObject.Copy()
                $data | Add-Member -NotePropertyName ClientWarnings -NotePropertyValue @('plain-text endpoint')
                [pscustomobject]@{ Ok = $true; Data = $data }
            }
            $warnings = Start-SSMSession -Target i-1 -Region eu-west-3 3>&1 | Where-Object { $_ -is [System.Management.Automation.WarningRecord] }
            $warnings.Message | Should -Be 'plain-text endpoint'
        }

        It 'writes the client''s warnings that a failed call reports, then fails' {
            Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'StartSession' } {
                $failure = New-Failure 'service' 'AccessDeniedException' 'User is not authorized to perform ssm:StartSession'
                $failure.Error | Add-Member -NotePropertyName ClientWarnings -NotePropertyValue @('plain-text endpoint')
                $failure
            }
            $warnings = [System.Collections.Generic.List[object]]::new()
            { Start-SSMSession -Target i-1 -Region eu-west-3 -WarningVariable +warnings -WarningAction SilentlyContinue } |
                Should -Throw -ExpectedMessage 'User is not authorized*'
            $warnings.Message | Should -Be 'plain-text endpoint'
        }

        It 'writes where credentials and region came from to the debug stream' {
            $debug = Start-SSMSession -Target i-1 -Region eu-west-3 -AccessKey AKIDX -SecretKey s -Debug 5>&1 -ErrorAction Stop |
                Where-Object { $_ -is [System.Management.Automation.DebugRecord] }
            $debug.Message | Should -Contain 'Credentials obtained from the supplied key parameters'
            $debug.Message | Should -Contain "Region obtained from region parameter with value 'eu-west-3'"
        }

        It 'honours preference variables set in the calling scope, as a compiled cmdlet does' {
            $VerbosePreference = 'Continue'
            $verbose = Start-SSMSession -Target i-1 -EndpointUrl http://127.0.0.1:5 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
            $verbose.Message | Should -Contain "Invoking AWS Systems Manager operation 'StartSession' on endpoint 'http://127.0.0.1:5'"
        }

        It 'never writes the token or the secret key to the verbose or debug streams' {
            $records = Start-SSMSession -Target i-1 -AccessKey AKIDX -SecretKey 'very-secret-key' -Verbose -Debug 4>&1 5>&1 |
                Where-Object { $_ -is [System.Management.Automation.InformationalRecord] }
            ($records.Message -join "`n") | Should -Not -Match 'very-secret-key|token'
        }
    }

    Context 'credential sources' {
        AfterEach {
            Remove-Variable -Name StoredAWSCredentials, StoredAWSRegion -Scope Global -ErrorAction SilentlyContinue
        }

        It 'reads keys from a <Kind> passed to -Credential' -ForEach @(
            @{ Kind = 'PSCredential'; Value = { [pscredential]::new('AKIDCRED', (ConvertTo-SecureString 'cred-secret' -AsPlainText -Force)) } }
            @{ Kind = 'hashtable'; Value = { @{ AccessKey = 'AKIDCRED'; SecretKey = 'cred-secret' } } }
            @{ Kind = 'AWSCredentials-like object'; Value = {
                    $object = [pscustomobject]@{}
                    $object | Add-Member ScriptMethod GetCredentials { [pscustomobject]@{ AccessKey = 'AKIDCRED'; SecretKey = 'cred-secret'; Token = $null } }
                    $object
                } }
        ) {
            Start-SSMSession -Target i-1 -Credential (& $Value) | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter {
                $Operation -eq 'StartSession' -and $Request.Client.AccessKey -eq 'AKIDCRED' -and $Request.Client.SecretKey -eq 'cred-secret'
            }
        }

        It 'binds an AWSCredentials object piped by value' {
            $object = [pscustomobject]@{}
            $object | Add-Member ScriptMethod GetCredentials { [pscustomobject]@{ AccessKey = 'AKIDPIPE'; SecretKey = 's'; Token = 'tok' } }
            $object | Start-SSMSession -Target i-1 | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter {
                $Operation -eq 'StartSession' -and $Request.Client.AccessKey -eq 'AKIDPIPE' -and $Request.Client.SessionToken -eq 'tok'
            }
        }

        It 'ignores piped records that are not credentials' {
            [pscustomobject]@{ Target = 'i-7'; DocumentName = 'AWS-StartSSHSession' } | Start-SSMSession | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter {
                $Operation -eq 'StartSession' -and $Request.Target -eq 'i-7' -and -not $Request.Client.ContainsKey('AccessKey')
            }
        }

        It 'rejects an explicit -Credential that holds no keys' {
            { Start-SSMSession -Target i-1 -Credential 'nope' } | Should -Throw -ErrorId 'System.ArgumentException,Start-SSMSession' -ExpectedMessage '-Credential takes*'
        }

        It 'prefers explicit keys to -Credential, -Credential to -ProfileName, -ProfileName to $StoredAWSCredentials' {
            $global:StoredAWSCredentials = @{ AccessKey = 'AKIDSTORED'; SecretKey = 's' }
            $credential = @{ AccessKey = 'AKIDCRED'; SecretKey = 's' }
            Start-SSMSession -Target k -AccessKey AKIDKEYS -SecretKey s -Credential $credential | Out-Null
            Start-SSMSession -Target c -Credential $credential -ProfileName p | Out-Null
            Start-SSMSession -Target p -ProfileName p | Out-Null
            Start-SSMSession -Target s | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StartSession' -and $Request.Target -eq 'k' -and $Request.Client.AccessKey -eq 'AKIDKEYS' }
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StartSession' -and $Request.Target -eq 'c' -and $Request.Client.AccessKey -eq 'AKIDCRED' }
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StartSession' -and $Request.Target -eq 'p' -and $Request.Client.ProfileName -eq 'p' -and -not $Request.Client.ContainsKey('AccessKey') }
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StartSession' -and $Request.Target -eq 's' -and $Request.Client.AccessKey -eq 'AKIDSTORED' }
        }

        It 'rejects half a key pair instead of silently using other credentials' {
            { Start-SSMSession -Target i-1 -AccessKey AKIDONLY } | Should -Throw -ExpectedMessage '-AccessKey and -SecretKey must be given together.*'
        }

        It 'uses $StoredAWSRegion after -Region' {
            $global:StoredAWSRegion = 'ap-south-2'
            Start-SSMSession -Target stored | Out-Null
            Start-SSMSession -Target param -Region eu-west-3 | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StartSession' -and $Request.Target -eq 'stored' -and $Request.Client.Region -eq 'ap-south-2' }
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StartSession' -and $Request.Target -eq 'param' -and $Request.Client.Region -eq 'eu-west-3' }
        }
    }

    Context '-ClientConfig' {
        It 'maps the AWS Tools config names to client settings' {
            Start-SSMSession -Target i-1 -ClientConfig @{
                ServiceURL = 'http://127.0.0.1:9'; RegionEndpoint = [pscustomobject]@{ SystemName = 'us-west-2' }; AuthenticationRegion = 'eu-north-1'
                Timeout = [timespan]::FromSeconds(2); ReadWriteTimeout = 1.5; MaxErrorRetry = 0; RetryMode = 'Adaptive'
                UseFIPSEndpoint = $true; UseDualstackEndpoint = $false; UserAgent = 'my-tool'
            } | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter {
                $c = $Request.Client
                $Operation -eq 'StartSession' -and $c.EndpointUrl -eq 'http://127.0.0.1:9' -and $c.FallbackRegion -eq 'us-west-2' -and
                $c.SigningRegion -eq 'eu-north-1' -and $c.AttemptTimeoutMs -eq 2000 -and $c.ReadTimeoutMs -eq 1500 -and $c.MaxAttempts -eq 1 -and
                $c.RetryMode -eq 'Adaptive' -and $c.UseFips -eq $true -and $c.UseDualStack -eq $false -and $c.AppName -eq 'my-tool'
            }
        }

        It 'lets -EndpointUrl win over ServiceURL' {
            Start-SSMSession -Target i-1 -EndpointUrl http://127.0.0.1:7 -ClientConfig @{ ServiceURL = 'http://127.0.0.1:9' } | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter { $Operation -eq 'StartSession' -and $Request.Client.EndpointUrl -eq 'http://127.0.0.1:7' }
        }

        It 'names the supported settings when given an unknown one' {
            { Start-SSMSession -Target i-1 -ClientConfig @{ Nope = 1 } } |
                Should -Throw -ErrorId 'System.ArgumentException,Start-SSMSession' -ExpectedMessage "ClientConfig has no setting 'Nope'. Supported: ServiceURL, RegionEndpoint*"
        }

        It 'maps the proxy settings, a PSCredential with its domain as DOMAIN\user' {
            $credential = [pscredential]::new('corp\alice', (ConvertTo-SecureString 'p@ss' -AsPlainText -Force))
            Start-SSMSession -Target i-1 -ClientConfig @{
                ProxyHost = 'proxy.example'; ProxyPort = 3128; ProxyCredentials = $credential
                ProxyBypassList = [System.Collections.Generic.List[string]]@('\.internal$', ''); ProxyBypassOnLocal = $true
            } | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter {
                $c = $Request.Client
                $Operation -eq 'StartSession' -and $c.ProxyHost -eq 'proxy.example' -and $c.ProxyPort -eq 3128 -and $c.ProxyUser -eq 'corp\alice' -and
                $c.ProxyPassword -eq 'p@ss' -and @($c.ProxyBypassList).Count -eq 1 -and $c.ProxyBypassList[0] -eq '\.internal$' -and $c.ProxyBypassOnLocal -eq $true
            }
        }

        It 'takes a NetworkCredential, and leaves out the SDK defaults (port 0, no bypass) of an object without a proxy' {
            Start-SSMSession -Target i-1 -ClientConfig @{ ProxyHost = '10.0.0.1'; ProxyPort = 8080; ProxyCredentials = [System.Net.NetworkCredential]::new('bob', 's') } | Out-Null
            Start-SSMSession -Target i-2 -ClientConfig ([pscustomobject]@{ ProxyHost = $null; ProxyPort = 0; ProxyBypassOnLocal = $false; ProxyBypassList = @() }) | Out-Null
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter {
                $Operation -eq 'StartSession' -and $Request.Target -eq 'i-1' -and $Request.Client.ProxyUser -eq 'bob' -and $Request.Client.ProxyPassword -eq 's'
            }
            Should -Invoke -ModuleName SSMSession Invoke-SSMOperation -Times 1 -Exactly -ParameterFilter {
                $Operation -eq 'StartSession' -and $Request.Target -eq 'i-2' -and
                @($Request.Client.Keys | Where-Object { $_ -like 'Proxy*' }).Count -eq 0
            }
        }

        It 'rejects proxy credentials of another kind and ports out of range' {
            { Start-SSMSession -Target i-1 -ClientConfig @{ ProxyHost = 'p'; ProxyPort = 1; ProxyCredentials = 'alice:secret' } } |
                Should -Throw -ErrorId 'System.ArgumentException,Start-SSMSession' -ExpectedMessage 'ClientConfig.ProxyCredentials must be a PSCredential or a System.Net.NetworkCredential*'
            { Start-SSMSession -Target i-1 -ClientConfig @{ ProxyHost = 'p'; ProxyPort = 70000 } } |
                Should -Throw -ErrorId 'System.ArgumentException,Start-SSMSession' -ExpectedMessage 'ClientConfig.ProxyPort must be a port number from 1 to 65535*'
        }
    }

    Context '$AWSHistory' {
        BeforeEach {
            Remove-Variable -Name AWSHistory -Scope Global -ErrorAction SilentlyContinue
        }
        AfterAll {
            Remove-Variable -Name AWSHistory -Scope Global -ErrorAction SilentlyContinue
        }

        It 'records each command with its responses, stamped LoggedAt' {
            'AWS-StartSSHSession', 'AWS-StartPortForwardingSession' | Start-SSMSession -Target i-1 | Out-Null
            Start-SSMSession -Target i-2 -Select SessionId | Out-Null
            $global:AWSHistory.Commands.Count | Should -Be 2
            $first = $global:AWSHistory.Commands[0]
            $first.CmdletName | Should -Be 'Start-SSMSession'
            $first.Responses.Count | Should -Be 2
            $first.EmittedObjectsCount | Should -Be 2
            $first.LastServiceResponse.SessionId | Should -Be 'alice-0123456789abcdef0'
            $first.LastServiceResponse.LoggedAt | Should -BeOfType [datetime]
            $first.CmdletEnd | Should -BeGreaterOrEqual $first.CmdletStart
            $global:AWSHistory.LastServiceResponse.SessionId | Should -Be 'alice-0123456789abcdef0'
            "$global:AWSHistory" | Should -Be '2 command(s) recorded, last  = Start-SSMSession'
        }

        It 'keeps session tokens out of the history unless IncludeSensitiveData is set' {
            $session = Start-SSMSession -Target i-1
            $session.TokenValue | Should -Be 'token' -Because 'the output keeps its token'
            $global:AWSHistory.LastServiceResponse.SessionId | Should -Be $session.SessionId
            $global:AWSHistory.LastServiceResponse.TokenValue | Should -BeLike '(redacted*IncludeSensitiveData*'
            $global:AWSHistory.IncludeSensitiveData = $true
            $kept = Start-SSMSession -Target i-1
            $global:AWSHistory.LastServiceResponse.TokenValue | Should -Be $kept.TokenValue
        }

        It 'keeps the last 5 commands and the last 5 responses of each' {
            1..7 | ForEach-Object { Start-SSMSession -Target "i-$_" | Out-Null }
            $global:AWSHistory.Commands.Count | Should -Be 5
            1..7 | ForEach-Object { [pscustomobject]@{ Target = "i-$_" } } | Start-SSMSession | Out-Null
            $global:AWSHistory.LastCommand.Responses.Count | Should -Be 5
        }

        It 'records a failed call before the terminating error, and a declined one with no responses' {
            Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'StartSession' } { New-Failure 'service' 'TargetNotConnected' 'not connected' }
            { Start-SSMSession -Target i-1 } | Should -Throw
            $global:AWSHistory.LastServiceResponse.Message | Should -Be 'not connected'
            $global:AWSHistory.LastServiceResponse.LoggedAt | Should -BeOfType [datetime]
            Start-SSMSession -Target i-1 -WhatIf
            $global:AWSHistory.Commands.Count | Should -Be 2
            $global:AWSHistory.LastCommand.Responses.Count | Should -Be 0
        }

        It 'leaves a $AWSHistory it does not own alone' {
            $global:AWSHistory = 'owned by AWS Tools'
            Start-SSMSession -Target i-1 | Out-Null
            $global:AWSHistory | Should -Be 'owned by AWS Tools'
        }
    }

    Context 'output' {
        It 'returns a StartSessionResponse with the service fields and metadata' {
            $response = Start-SSMSession -Target i-1
            $response.PSObject.TypeNames[0] | Should -Be 'Amazon.SimpleSystemsManagement.Model.StartSessionResponse'
            $response.SessionId | Should -Be 'alice-0123456789abcdef0'
            $response.StreamUrl | Should -Be 'wss://example/v1/data-channel/x'
            $response.TokenValue | Should -Be 'token'
            $response.ResponseMetadata.RequestId | Should -Be 'req-1'
            $response.ContentLength | Should -Be 123
            $response.HttpStatusCode | Should -Be ([System.Net.HttpStatusCode]::OK)
        }

        It 'shows SessionId and StreamUrl as a table by default, not the token' {
            $text = Start-SSMSession -Target i-1 | Out-String -Width 300
            $text | Should -Match 'SessionId\s+StreamUrl'
            $text | Should -Not -Match 'TokenValue|ResponseMetadata'
            (Start-SSMSession -Target i-1 | Format-List * | Out-String) | Should -Match 'TokenValue\s+: token'
        }
    }

    Context 'errors' {
        It 'maps <Kind>/<Code> to ErrorId <ErrorId> and category <Category>' -ForEach @(
            @{ Kind = 'service'; Code = 'TargetNotConnected'; ErrorId = 'Amazon.SimpleSystemsManagement.Model.TargetNotConnectedException'; Category = 'InvalidOperation' }
            @{ Kind = 'service'; Code = 'InvalidDocument'; ErrorId = 'Amazon.SimpleSystemsManagement.Model.InvalidDocumentException'; Category = 'InvalidOperation' }
            @{ Kind = 'service'; Code = 'AccessDeniedException'; ErrorId = 'Amazon.SimpleSystemsManagement.AmazonSimpleSystemsManagementException'; Category = 'InvalidOperation' }
            @{ Kind = 'credentials'; Code = 'NoCredentials'; ErrorId = 'InvalidOperationException'; Category = 'InvalidOperation' }
            @{ Kind = 'region'; Code = 'NoRegion'; ErrorId = 'InvalidOperationException'; Category = 'InvalidOperation' }
            @{ Kind = 'transport'; Code = 'ConnectionFailure'; ErrorId = 'SSMSession.ConnectionFailure'; Category = 'ConnectionError' }
            @{ Kind = 'network'; Code = 'CertificateNotTrusted'; ErrorId = 'SSMSession.CertificateNotTrusted'; Category = 'SecurityError' }
            @{ Kind = 'network'; Code = 'ProxyAuthenticationRequired'; ErrorId = 'SSMSession.ProxyAuthenticationRequired'; Category = 'ConnectionError' }
            @{ Kind = 'timeout'; Code = 'Timeout'; ErrorId = 'SSMSession.Timeout'; Category = 'OperationTimeout' }
            @{ Kind = 'panic'; Code = 'Panic'; ErrorId = 'SSMSession.InternalError'; Category = 'NotSpecified' }
            @{ Kind = 'invalidRequest'; Code = 'InvalidUtf8'; ErrorId = 'SSMSession.InvalidUtf8'; Category = 'InvalidArgument' }
            @{ Kind = 'network'; Code = 'CertificateExpired'; ErrorId = 'SSMSession.CertificateExpired'; Category = 'SecurityError' }
            @{ Kind = 'network'; Code = 'ProxyUnreachable'; ErrorId = 'SSMSession.ProxyUnreachable'; Category = 'ConnectionError' }
            @{ Kind = 'dataChannel'; Code = 'HandshakeTimeout'; ErrorId = 'SSMSession.HandshakeTimeout'; Category = 'ConnectionError' }
            @{ Kind = 'invalidResponse'; Code = 'InvalidResponse'; ErrorId = 'SSMSession.InvalidResponse'; Category = 'InvalidResult' }
            @{ Kind = 'cancelled'; Code = 'Cancelled'; ErrorId = 'SSMSession.Cancelled'; Category = 'OperationStopped' }
            # A kind from a newer library reads as an internal failure, not a crash.
            @{ Kind = 'fromTheFuture'; Code = 'X'; ErrorId = 'SSMSession.InternalError'; Category = 'NotSpecified' }
        ) {
            Mock -ModuleName SSMSession Invoke-SSMOperation -ParameterFilter { $Operation -eq 'StartSession' } { New-Failure $Kind $Code 'it failed' }
            $caught = $null
            try { Start-SSMSession -Target i-1 -ErrorAction SilentlyContinue } catch { $caught = $_ }
            $caught | Should -Not -BeNullOrEmpty -Because 'failures are terminating even with -ErrorAction SilentlyContinue'
            $caught.FullyQualifiedErrorId | Should -Be "$ErrorId,Start-SSMSession"
            $caught.CategoryInfo.Category | Should -Be $Category
            $caught.Exception.Message | Should -Be 'it failed'
            $caught.Exception.Data['ErrorCode'] | Should -Be $Code
            $caught.Exception.Data['RequestId'] | Should -Be 'req-2'
            if ($Kind -eq 'service') {
                $caught.Exception.InnerException.Data['ErrorCode'] | Should -Be $Code
                $caught.Exception.InnerException.Data['ErrorType'] | Should -Be 'Sender'
            }
        }
    }
}
