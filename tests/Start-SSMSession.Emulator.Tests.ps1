#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }

# Start-SSMSession through the real native library against ssm-emulator on loopback: real
# HTTP, real SigV4 signing and verification, real service error shapes.

Describe 'Start-SSMSession against the local emulator' {
    BeforeAll {
        $repositoryRoot = Split-Path $PSScriptRoot -Parent
        Import-Module ([System.IO.Path]::Combine($PSScriptRoot, 'Support', 'SSMEmulator.psm1')) -Force
        $emulatorPath = if ($env:SSMSESSION_EMULATOR_PATH) { $env:SSMSESSION_EMULATOR_PATH } else { [System.IO.Path]::Combine($repositoryRoot, 'target', 'release', 'ssm-emulator') }
        $emulator = Start-SSMEmulator -Path $emulatorPath
        Import-Module $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path $repositoryRoot 'SSMSession.psd1' }) -Force

        # Nothing from the developer's own AWS setup may leak in: no AWS_* variables, a
        # home folder without ~/.aws, and no instance metadata.
        # Remove-Item, not SetEnvironmentVariable($name, $null): PowerShell passes $null to
        # a string parameter as "", which leaves an empty variable behind on Unix.
        $savedEnvironment = @{}
        foreach ($item in @(Get-ChildItem Env: | Where-Object { $_.Name -like 'AWS_*' -or $_.Name -eq 'HOME' })) {
            $savedEnvironment[$item.Name] = $item.Value
            Remove-Item -LiteralPath "Env:$($item.Name)"
        }
        $fakeHome = Join-Path (Get-PSDrive TestDrive).Root 'home'
        New-Item -ItemType Directory -Path (Join-Path $fakeHome '.aws') -Force | Out-Null
        $env:HOME = $fakeHome
        $env:AWS_EC2_METADATA_DISABLED = 'true'

        $accessKey = 'AKIDSSMEMULATOR'
        $secretKey = 'ssm-emulator-secret-key'
        $common = @{ Region = 'eu-west-3'; EndpointUrl = $emulator.Url; AccessKey = $accessKey; SecretKey = $secretKey }
    }

    AfterAll {
        Stop-SSMEmulator -Emulator $emulator
        Get-ChildItem Env: | Where-Object Name -like 'AWS_*' | ForEach-Object { Remove-Item -LiteralPath "Env:$($_.Name)" }
        foreach ($entry in $savedEnvironment.GetEnumerator()) {
            Set-Item -LiteralPath "Env:$($entry.Key)" -Value $entry.Value
        }
    }

    It 'starts a port forwarding session and returns SessionId, StreamUrl and TokenValue' {
        $response = Start-SSMSession -Target i-064578e5e7454488f -DocumentName AWS-StartPortForwardingSession `
            -Parameter @{ localPortNumber = '8080'; portNumber = '80' } -Reason 'Pester' @common
        $response.PSObject.TypeNames[0] | Should -Be 'Amazon.SimpleSystemsManagement.Model.StartSessionResponse'
        $response.SessionId | Should -Match '^emulator-user-[0-9a-f]{17}$'
        $response.StreamUrl | Should -BeLike "$($emulator.Url -replace '^http', 'ws')/v1/data-channel/$($response.SessionId)?role=publish_subscribe*"
        $response.TokenValue | Should -Match '^[0-9a-f]{192}$'
        $response.ResponseMetadata.RequestId | Should -Match '^[0-9a-f-]{36}$'
        $response.ContentLength | Should -BeGreaterThan 0
    }

    It 'gives every call its own session' {
        $ids = 1..5 | ForEach-Object { (Start-SSMSession -Target "i-$_" @common).SessionId }
        @($ids | Sort-Object -Unique).Count | Should -Be 5
    }

    It 'sends the document name (an unknown document is the service''s InvalidDocument error)' {
        { Start-SSMSession -Target i-1 -DocumentName Not-A-Real-Document @common } |
            Should -Throw -ErrorId 'Amazon.SimpleSystemsManagement.Model.InvalidDocumentException,Start-SSMSession' -ExpectedMessage 'Document Not-A-Real-Document does not exist*'
    }

    It 'sends reason and parameters (the service validates them)' {
        { Start-SSMSession -Target i-1 -Reason ('r' * 257) @common } |
            Should -Throw -ExpectedMessage "*at 'reason' failed to satisfy constraint: Member must have length less than or equal to 256"
        { Start-SSMSession -Target i-1 -Parameter @{ portNumber = '' } @common } |
            Should -Throw -ExpectedMessage "*at 'parameters' failed to satisfy constraint: Member must have length greater than or equal to 1"
    }

    It 'carries non-ASCII text intact both ways through the native boundary' {
        # Accepted: the service counts characters, not bytes (200 x 3-byte UTF-8 = 200 chars).
        (Start-SSMSession -Target i-1 -Reason ([string]::new([char]0x2713, 200)) @common).SessionId | Should -Not -BeNullOrEmpty
        # Echoed back in the service's message.
        $document = "D$([char]0x00F6)kument-$([char]0x65E5)$([char]0x672C)"
        { Start-SSMSession -Target i-1 -DocumentName $document @common } |
            Should -Throw -ExpectedMessage "1 validation error detected: Value '$document' at 'documentName'*"
    }

    It 'turns TargetNotConnected into a terminating error with the service''s message and code' {
        $caught = $null
        try {
            Start-SSMSession -Target i-targetnotconnected @common -ErrorAction SilentlyContinue
        } catch {
            $caught = $_
        }
        $caught | Should -Not -BeNullOrEmpty
        $caught.Exception.Message | Should -Be 'i-targetnotconnected is not connected.'
        $caught.FullyQualifiedErrorId | Should -Be 'Amazon.SimpleSystemsManagement.Model.TargetNotConnectedException,Start-SSMSession'
        $caught.CategoryInfo.Category | Should -Be 'InvalidOperation'
        $caught.Exception.Data['ErrorCode'] | Should -Be 'TargetNotConnected'
        $caught.Exception.Data['StatusCode'] | Should -Be 400
        $caught.Exception.InnerException.Message | Should -Be 'i-targetnotconnected is not connected.'
    }

    It 'reports unmodelled service errors with their code' {
        $caught = $null
        try { Start-SSMSession -Target i-accessdenied @common } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -Be 'Amazon.SimpleSystemsManagement.AmazonSimpleSystemsManagementException,Start-SSMSession'
        $caught.Exception.Data['ErrorCode'] | Should -Be 'AccessDeniedException'
        $caught.Exception.Message | Should -BeLike 'User: arn:aws:iam::123456789012:user/emulator-user is not authorized to perform: ssm:StartSession*'
    }

    It 'signs with the secret key: a wrong one is rejected by the emulator''s SigV4 check' {
        $caught = $null
        try { Start-SSMSession -Target i-1 -Region eu-west-3 -EndpointUrl $emulator.Url -AccessKey $accessKey -SecretKey 'wrong' } catch { $caught = $_ }
        $caught.Exception.Data['ErrorCode'] | Should -Be 'InvalidSignatureException'
        $caught.Exception.Message | Should -BeLike 'The request signature we calculated does not match*'
    }

    It 'fails clearly on an unreachable endpoint and keeps pwsh usable' {
        $closedPort = & {
            $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
            $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop(); $port
        }
        $caught = $null
        try { Start-SSMSession -Target i-1 -Region eu-west-3 -EndpointUrl "http://127.0.0.1:$closedPort" -AccessKey $accessKey -SecretKey $secretKey } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -Be 'SSMSession.ConnectionFailure,Start-SSMSession'
        $caught.CategoryInfo.Category | Should -Be 'ConnectionError'
        $caught.Exception.Message | Should -BeLike "Could not reach the SSM service at endpoint 'http://127.0.0.1:$closedPort'*Connection refused*"
        # The same process goes on working.
        (Start-SSMSession -Target i-1 @common).SessionId | Should -Not -BeNullOrEmpty
    }

    It 'rejects an endpoint that is not a URL before sending anything' {
        { Start-SSMSession -Target i-1 -Region eu-west-3 -EndpointUrl '127.0.0.1:80' -AccessKey $accessKey -SecretKey $secretKey } |
            Should -Throw -ErrorId 'SSMSession.InvalidEndpointUrl,Start-SSMSession'
    }

    It 'treats an empty AWS_REGION as unset, like an unset one' {
        $env:AWS_REGION = 'placeholder'
        [System.Environment]::SetEnvironmentVariable('AWS_REGION', '')
        try {
            { Start-SSMSession -Target i-1 -EndpointUrl $emulator.Url -AccessKey $accessKey -SecretKey $secretKey } |
                Should -Throw -ExpectedMessage 'No region specified or obtained from persisted/shell defaults.'
        } finally {
            Remove-Item Env:AWS_REGION -ErrorAction SilentlyContinue
        }
    }

    It 'names an invalid region instead of failing inside the SDK' {
        { Start-SSMSession -Target i-1 -Region 'eu west 3' -EndpointUrl $emulator.Url -AccessKey $accessKey -SecretKey $secretKey } |
            Should -Throw -ErrorId 'SSMSession.InvalidRegion,Start-SSMSession' -ExpectedMessage "'eu west 3' is not a valid region name*"
    }

    It 'says so when no region can be found' {
        { Start-SSMSession -Target i-1 -EndpointUrl $emulator.Url -AccessKey $accessKey -SecretKey $secretKey } |
            Should -Throw -ExpectedMessage 'No region specified or obtained from persisted/shell defaults.' -ErrorId 'InvalidOperationException,Start-SSMSession'
    }

    It 'says so when no credentials can be found' {
        { Start-SSMSession -Target i-1 -Region eu-west-3 -EndpointUrl $emulator.Url } |
            Should -Throw -ExpectedMessage 'No credentials specified or obtained from persisted/shell defaults.*' -ErrorId 'InvalidOperationException,Start-SSMSession'
    }

    Context 'confirmation' {
        It 'prompts only with -Confirm or a Medium $ConfirmPreference, and never with -Force' {
            # In a -NonInteractive pwsh an attempted prompt fails instead of waiting for input,
            # which shows whether ShouldProcess asked.
            $probe = @'
Import-Module '__MANIFEST__'
$common = @{ Region = 'eu-west-3'; EndpointUrl = '__URL__'; AccessKey = 'AKIDSSMEMULATOR'; SecretKey = 'ssm-emulator-secret-key'; Select = 'SessionId' }
function Try-Case([string] $Name, [scriptblock] $Case) {
    try { $null = & $Case; "${Name}:called" } catch { "${Name}:prompted" }
}
Try-Case 'default' { Start-SSMSession -Target i-1 @common }
Try-Case 'confirm' { Start-SSMSession -Target i-1 @common -Confirm }
Try-Case 'confirm-false' { Start-SSMSession -Target i-1 @common -Confirm:$false }
Try-Case 'force-confirm' { Start-SSMSession -Target i-1 @common -Force -Confirm }
Try-Case 'preference-medium' { $ConfirmPreference = 'Medium'; Start-SSMSession -Target i-1 @common }
Try-Case 'preference-medium-force' { $ConfirmPreference = 'Medium'; Start-SSMSession -Target i-1 @common -Force }
'@.Replace('__MANIFEST__', $(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path $repositoryRoot 'SSMSession.psd1' })).Replace('__URL__', $emulator.Url)
            $pwsh = Join-Path $PSHOME $(if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' })
            $output = & $pwsh -NoProfile -NonInteractive -Command $probe 2>&1
            $output | Should -Be @(
                'default:called', 'confirm:prompted', 'confirm-false:called', 'force-confirm:called',
                'preference-medium:prompted', 'preference-medium-force:called'
            )
        }
    }

    Context 'cancellation and time limits' {
        It 'returns control soon after the pipeline is stopped mid-call, and cancels the request' {
            $runspace = [powershell]::Create()
            $null = $runspace.AddScript({
                    param($Manifest, $Url)
                    Import-Module $Manifest
                    Start-SSMSession -Target i-delay-20000 -Region eu-west-3 -EndpointUrl $Url -AccessKey AKIDSSMEMULATOR -SecretKey ssm-emulator-secret-key
                }).AddArgument($(if ($env:SSMSESSION_TEST_MANIFEST) { $env:SSMSESSION_TEST_MANIFEST } else { Join-Path $repositoryRoot 'SSMSession.psd1' })).AddArgument($emulator.Url)
            try {
                $inFlight = { (Invoke-RestMethod "$($emulator.Url)/emulator/in-flight" -NoProxy).ApiCallsInFlight }
                $before = & $inFlight
                $pending = $runspace.BeginInvoke()
                # Stopped once the call is at the emulator, inside its 20 s answer delay.
                $deadline = [DateTime]::UtcNow.AddSeconds(30)
                while ((& $inFlight) -le $before -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
                & $inFlight | Should -BeGreaterThan $before -Because 'the call reached the emulator'
                $watch = [System.Diagnostics.Stopwatch]::StartNew()
                $runspace.Stop()
                $watch.Stop()
                $runspace.InvocationStateInfo.State | Should -Be 'Stopped'
                $pending.IsCompleted | Should -BeTrue
                # The call would have taken 20 s; stopping must not wait for it.
                $watch.Elapsed.TotalSeconds | Should -BeLessThan 5
                # The request itself is cancelled (ssm_call_cancel), not left to run out: the
                # emulator sees its connection go long before its 20 s delay.
                $deadline = [DateTime]::UtcNow.AddSeconds(10)
                while ((& $inFlight) -gt $before -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
                & $inFlight | Should -Be $before -Because 'the cancelled request ended at the emulator'
            } finally {
                $runspace.Dispose()
            }
        }

        It 'fails quickly when nothing provides credentials and instance metadata does not answer' {
            # A local stand-in for an unreachable metadata service: it accepts connections
            # and never answers. AWS Tools stalls about 15 s here (aws-tools-for-powershell#10).
            $silentMetadata = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
            $silentMetadata.Start()
            Remove-Item Env:AWS_EC2_METADATA_DISABLED
            $env:AWS_EC2_METADATA_SERVICE_ENDPOINT = "http://127.0.0.1:$($silentMetadata.LocalEndpoint.Port)"
            try {
                $watch = [System.Diagnostics.Stopwatch]::StartNew()
                { Start-SSMSession -Target i-1 -Region eu-west-3 -EndpointUrl $emulator.Url } |
                    Should -Throw -ExpectedMessage 'No credentials specified or obtained from persisted/shell defaults.*Ec2InstanceMetadata*'
                $watch.Elapsed.TotalSeconds | Should -BeLessThan 8
            } finally {
                $env:AWS_EC2_METADATA_DISABLED = 'true'
                Remove-Item Env:AWS_EC2_METADATA_SERVICE_ENDPOINT
                $silentMetadata.Stop()
            }
        }

        It 'waits out a call slower than one wait slice and returns its session' {
            # The module waits for a native call in 100 ms slices (ssm_call_wait after
            # ssm_call_start); the emulator answers i-delay-350 after 350 ms.
            $session = Start-SSMSession -Target i-delay-350 @common
            $session.SessionId | Should -Not -BeNullOrEmpty
            $session.PSObject.TypeNames[0] | Should -Be 'Amazon.SimpleSystemsManagement.Model.StartSessionResponse'
            $AWSHistory.LastServiceResponse.SessionId | Should -Be $session.SessionId
        }

        It 'honours ClientConfig.Timeout with a clear timeout error' {
            $caught = $null
            try {
                Start-SSMSession -Target i-delay-5000 @common -ClientConfig @{ Timeout = 0.5; MaxErrorRetry = 0 }
            } catch {
                $caught = $_
            }
            $caught.FullyQualifiedErrorId | Should -Be 'SSMSession.Timeout,Start-SSMSession'
            $caught.CategoryInfo.Category | Should -Be 'OperationTimeout'
            $caught.Exception.Message | Should -BeLike "*timed out*"
        }
    }

    Context 'every credential source, through the emulator''s local stand-ins' {
        BeforeAll {
            $awsFolder = [System.IO.Path]::Combine($env:HOME, '.aws')
            $credentialSource = {
                param([hashtable] $Arguments)
                $debug = Start-SSMSession -Target i-1 -EndpointUrl $emulator.Url @Arguments -Debug 5>&1 |
                    Where-Object { $_ -is [System.Management.Automation.DebugRecord] }
                ($debug.Message | Where-Object { $_ -like 'Credentials obtained from *' }) -replace '^Credentials obtained from '
            }
        }
        AfterEach {
            Get-ChildItem Env: | Where-Object { $_.Name -like 'AWS_*' -and $_.Name -ne 'AWS_EC2_METADATA_DISABLED' } | ForEach-Object { Remove-Item -LiteralPath "Env:$($_.Name)" }
            $env:AWS_EC2_METADATA_DISABLED = 'true'
            Remove-Item -LiteralPath $awsFolder -Recurse -Force -ErrorAction SilentlyContinue
            New-Item -ItemType Directory -Path $awsFolder -Force | Out-Null
        }

        It 'container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI)' {
            $env:AWS_CONTAINER_CREDENTIALS_FULL_URI = "$($emulator.Url)/credentials/container"
            & $credentialSource @{ Region = 'eu-west-3' } | Should -Be 'Container'
        }

        It 'instance metadata (IMDSv2), for credentials and region' {
            Remove-Item Env:AWS_EC2_METADATA_DISABLED
            $env:AWS_EC2_METADATA_SERVICE_ENDPOINT = $emulator.Url
            & $credentialSource @{} | Should -Be 'InstanceMetadata'
            $debug = Start-SSMSession -Target i-1 -EndpointUrl $emulator.Url -Debug 5>&1 | Where-Object { $_ -is [System.Management.Automation.DebugRecord] }
            $debug.Message | Should -Contain "Region obtained from InstanceMetadata with value 'eu-west-3'"
        }

        It 'web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, through STS)' {
            $tokenFile = [System.IO.Path]::Combine($awsFolder, 'web-identity-token')
            Set-Content -LiteralPath $tokenFile -Value 'eyJ.emulator.token' -NoNewline
            $env:AWS_WEB_IDENTITY_TOKEN_FILE = $tokenFile
            $env:AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/web-role'
            $env:AWS_ROLE_SESSION_NAME = 'pester'
            $env:AWS_ENDPOINT_URL = $emulator.Url
            & $credentialSource @{ Region = 'eu-west-3' } | Should -Be 'WebIdentity'
        }

        It 'assume role (role_arn and source_profile, through STS signed with the source keys)' {
            Set-Content -LiteralPath ([System.IO.Path]::Combine($awsFolder, 'credentials')) -Value @(
                '[base]', "aws_access_key_id = $accessKey", "aws_secret_access_key = $secretKey"
            )
            Set-Content -LiteralPath ([System.IO.Path]::Combine($awsFolder, 'config')) -Value @(
                '[profile assumed]', 'role_arn = arn:aws:iam::123456789012:role/assumed-role', 'source_profile = base', 'region = eu-west-3'
            )
            $env:AWS_PROFILE = 'assumed'
            $env:AWS_ENDPOINT_URL = $emulator.Url
            # The SDK marks assumed-role credentials as profile credentials; the session id
            # shows that the emulator's STS issued them (its user is the role session name).
            & $credentialSource @{} | Should -Be 'Profile'
            (Start-SSMSession -Target i-1 -EndpointUrl $emulator.Url -Select SessionId) | Should -BeLike 'assume-role-from-profile-*'
        }

        It 'SSO (sso_session with a cached token)' {
            Set-Content -LiteralPath ([System.IO.Path]::Combine($awsFolder, 'config')) -Value @(
                '[profile sso-user]', 'sso_session = corp', 'sso_account_id = 123456789012', 'sso_role_name = EmulatorRole', 'region = eu-west-3'
                '[sso-session corp]', 'sso_start_url = https://emulator.invalid/start', 'sso_region = eu-west-3'
            )
            $cacheFolder = [System.IO.Path]::Combine($awsFolder, 'sso', 'cache')
            New-Item -ItemType Directory -Path $cacheFolder -Force | Out-Null
            $cacheName = [System.Convert]::ToHexString([System.Security.Cryptography.SHA1]::HashData([System.Text.Encoding]::UTF8.GetBytes('corp'))).ToLowerInvariant()
            Set-Content -LiteralPath ([System.IO.Path]::Combine($cacheFolder, "$cacheName.json")) -Value (@{
                    accessToken = 'emulator-sso-access-token'; expiresAt = '2099-01-01T00:00:00Z'; region = 'eu-west-3'; startUrl = 'https://emulator.invalid/start'
                } | ConvertTo-Json)
            $env:AWS_PROFILE = 'sso-user'
            $env:AWS_ENDPOINT_URL = $emulator.Url
            & $credentialSource @{} | Should -Be 'Sso'
        }
    }

    Context 'settings made in this PowerShell session' {
        AfterEach {
            Remove-Item -Path Env:AWS_REGION, Env:AWS_DEFAULT_REGION, Env:AWS_ACCESS_KEY_ID, Env:AWS_SECRET_ACCESS_KEY, Env:AWS_PROFILE -ErrorAction SilentlyContinue
            Remove-Variable -Name StoredAWSRegion, StoredAWSCredentials -Scope Global -ErrorAction SilentlyContinue
        }

        It 'honours AWS_DEFAULT_REGION, which AWS Tools V4 ignores' {
            $env:AWS_DEFAULT_REGION = 'ca-central-1'
            $debug = Start-SSMSession -Target i-1 -EndpointUrl $emulator.Url -AccessKey $accessKey -SecretKey $secretKey -Debug 5>&1 |
                Where-Object { $_ -is [System.Management.Automation.DebugRecord] }
            $debug.Message | Should -Contain "Region obtained from Environment with value 'ca-central-1'"
        }

        It 'uses $StoredAWSRegion and $StoredAWSCredentials as set by AWS Tools' {
            $global:StoredAWSRegion = 'eu-south-1'
            $global:StoredAWSCredentials = [pscustomobject]@{ AccessKey = $accessKey; SecretKey = $secretKey }
            (Start-SSMSession -Target i-1 -EndpointUrl $emulator.Url -Select SessionId) | Should -Match '^emulator-user-'
        }

        It 'fails at once for a -ProfileName that does not exist, even when other credentials exist' {
            $env:AWS_ACCESS_KEY_ID = $accessKey
            $env:AWS_SECRET_ACCESS_KEY = $secretKey
            { Start-SSMSession -Target i-1 -EndpointUrl $emulator.Url -Region eu-west-3 -ProfileName no-such-profile } |
                Should -Throw -ExpectedMessage "No credentials specified or obtained from persisted/shell defaults.*The profile 'no-such-profile' was not found*"
        }

        It 'reports where credentials came from: <Expected>' -ForEach @(
            @{ Setup = { $env:AWS_ACCESS_KEY_ID = 'AKIDSSMEMULATOR'; $env:AWS_SECRET_ACCESS_KEY = 'ssm-emulator-secret-key' }; Arguments = @{}; Expected = 'Environment' }
            @{ Setup = {}; Arguments = @{ Credential = [pscredential]::new('AKIDSSMEMULATOR', (ConvertTo-SecureString 'ssm-emulator-secret-key' -AsPlainText -Force)) }; Expected = 'supplied credentials object' }
        ) {
            & $Setup
            $debug = Start-SSMSession -Target i-1 -EndpointUrl $emulator.Url -Region eu-west-3 @Arguments -Debug 5>&1 |
                Where-Object { $_ -is [System.Management.Automation.DebugRecord] }
            $debug.Message | Should -Contain "Credentials obtained from $Expected"
        }

        It 'honours $env:AWS_REGION and $env:AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY set after start-up' {
            $env:AWS_REGION = 'ap-south-2'
            $env:AWS_ACCESS_KEY_ID = $accessKey
            $env:AWS_SECRET_ACCESS_KEY = $secretKey
            (Start-SSMSession -Target i-1 -EndpointUrl $emulator.Url).SessionId | Should -Not -BeNullOrEmpty
        }

        It 'uses the credentials and region of -ProfileName in -ProfileLocation, with ClientConfig for the endpoint' {
            $credentialsFile = Join-Path (Get-PSDrive TestDrive).Root 'emulator-credentials'
            Set-Content -LiteralPath $credentialsFile -Value @(
                '[emulator]'
                "aws_access_key_id = $accessKey"
                "aws_secret_access_key = $secretKey"
                'region = eu-central-2'
            )
            $debug = Start-SSMSession -Target i-1 -ClientConfig @{ ServiceURL = $emulator.Url } -ProfileName emulator -ProfileLocation $credentialsFile -Debug 5>&1 |
                Where-Object { $_ -is [System.Management.Automation.DebugRecord] }
            $debug.Message | Should -Contain "Region obtained from Profile with value 'eu-central-2'"
            $debug.Message | Should -Contain "Credentials obtained from stored profile named 'emulator'"
        }

        It 'honours $env:AWS_PROFILE with the shared files in the home folder' {
            Set-Content -LiteralPath ([System.IO.Path]::Combine($env:HOME, '.aws', 'credentials')) -Value @(
                '[from-env]'
                "aws_access_key_id = $accessKey"
                "aws_secret_access_key = $secretKey"
            )
            Set-Content -LiteralPath ([System.IO.Path]::Combine($env:HOME, '.aws', 'config')) -Value @(
                '[profile from-env]'
                'region = sa-east-1'
            )
            $env:AWS_PROFILE = 'from-env'
            (Start-SSMSession -Target i-1 -EndpointUrl $emulator.Url).SessionId | Should -Not -BeNullOrEmpty
        }

        It 'runs a credential_process profile and says so in the debug stream' {
            $credentialsFile = Join-Path (Get-PSDrive TestDrive).Root 'process-credentials'
            $json = '{"Version":1,"AccessKeyId":"' + $accessKey + '","SecretAccessKey":"' + $secretKey + '"}'
            Set-Content -LiteralPath $credentialsFile -Value @(
                '[from-process]'
                "credential_process = printf '%s' '$json'"
            )
            $debug = Start-SSMSession -Target i-1 -EndpointUrl $emulator.Url -Region eu-west-3 -ProfileName from-process -ProfileLocation $credentialsFile -Debug 5>&1 |
                Where-Object { $_ -is [System.Management.Automation.DebugRecord] }
            $debug.Message | Should -Contain "Credentials obtained from stored profile named 'from-process'"
            (Start-SSMSession -Target i-1 -EndpointUrl $emulator.Url -Region eu-west-3 -ProfileName from-process -ProfileLocation $credentialsFile -Select SessionId) |
                Should -Match '^emulator-user-'
        }

        It 'resolves conflicts in the documented order: <Name>' -ForEach @(
            @{ Name = 'environment keys beat AWS_PROFILE'; Expected = 'Credentials obtained from Environment'
                Setup = { $env:AWS_ACCESS_KEY_ID = 'AKIDSSMEMULATOR'; $env:AWS_SECRET_ACCESS_KEY = 'ssm-emulator-secret-key'; $env:AWS_PROFILE = 'wrong-keys' }
                Arguments = @{ Region = 'eu-west-3' } }
            @{ Name = 'AWS_REGION beats the profile''s region'; Expected = "Region obtained from Environment with value 'ap-south-2'"
                Setup = { $env:AWS_PROFILE = 'right-keys'; $env:AWS_REGION = 'ap-south-2' }
                Arguments = @{} }
            @{ Name = 'the profile''s region when nothing else names one'; Expected = "Region obtained from Profile with value 'eu-central-2'"
                Setup = { $env:AWS_PROFILE = 'right-keys' }
                Arguments = @{} }
            @{ Name = '$StoredAWSRegion beats AWS_REGION'; Expected = "Region obtained from shell variable `$StoredAWSRegion with value 'eu-south-1'"
                Setup = { $env:AWS_PROFILE = 'right-keys'; $env:AWS_REGION = 'ap-south-2'; $global:StoredAWSRegion = 'eu-south-1' }
                Arguments = @{} }
            @{ Name = '-Region beats everything'; Expected = "Region obtained from region parameter with value 'us-east-2'"
                Setup = { $env:AWS_PROFILE = 'right-keys'; $env:AWS_REGION = 'ap-south-2'; $global:StoredAWSRegion = 'eu-south-1' }
                Arguments = @{ Region = 'us-east-2' } }
        ) {
            Set-Content -LiteralPath ([System.IO.Path]::Combine($env:HOME, '.aws', 'credentials')) -Value @(
                '[wrong-keys]', "aws_access_key_id = $accessKey", 'aws_secret_access_key = not-the-secret'
                '[right-keys]', "aws_access_key_id = $accessKey", "aws_secret_access_key = $secretKey"
            )
            Set-Content -LiteralPath ([System.IO.Path]::Combine($env:HOME, '.aws', 'config')) -Value '[profile right-keys]', 'region = eu-central-2'
            try {
                & $Setup
                $debug = Start-SSMSession -Target i-1 -EndpointUrl $emulator.Url @Arguments -Debug 5>&1 |
                    Where-Object { $_ -is [System.Management.Automation.DebugRecord] }
                $debug.Message | Should -Contain $Expected
            } finally {
                Remove-Item -LiteralPath ([System.IO.Path]::Combine($env:HOME, '.aws', 'credentials')), ([System.IO.Path]::Combine($env:HOME, '.aws', 'config'))
            }
        }

        It 'reports a missing profile file clearly' {
            { Start-SSMSession -Target i-1 -EndpointUrl $emulator.Url -ProfileName x -ProfileLocation (Join-Path (Get-PSDrive TestDrive).Root 'missing') } |
                Should -Throw -ErrorId 'SSMSession.ProfileLocationNotFound,Start-SSMSession'
        }
    }
}
