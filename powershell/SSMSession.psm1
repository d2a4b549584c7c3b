# Module root script: one function per file under Private/ and Public/. The manifest's
# FunctionsToExport decides what users see. Nothing here touches the native library; it is
# loaded on the first call (Private/Initialize-SSMNativeLibrary.ps1). The release package
# (powershell/Build/New-SSMSessionPackage.ps1) ships this file with the region marked
# "functions" replaced by the functions themselves: one file to parse instead of ~40.
Set-StrictMode -Version 3.0

# The folder that holds SSMSession.psd1: this file's folder in the package, its parent in
# the source tree (where this file is in powershell/).
$script:SSMModuleRoot = if ([System.IO.File]::Exists([System.IO.Path]::Combine($PSScriptRoot, 'SSMSession.psd1'))) {
    $PSScriptRoot
} else {
    [System.IO.Path]::GetDirectoryName($PSScriptRoot)
}
# The version of the native library's JSON contract this module speaks (ssm_abi_version):
# Initialize-SSMNativeLibrary refuses a library with another.
$script:SSMAbiVersion = 2
# Set by Initialize-SSMNativeLibrary on the first call.
$script:SSMNativeType = $null
$script:SSMNativeVersion = $null
# Client settings of the sessions started here, by session id (kept by
# Invoke-SSMApiCommand, read by Get-SSMSessionClient; made by the first session, not at
# import).
$script:SSMSessionClients = $null
# The native envelope's error kinds (the library lists them: DescribeContract) as
# exception type (its name: resolved only when an error is made, not at import), ErrorId
# ({0}: the error's code) and category (see ConvertTo-SSMErrorRecord;
# service errors with a modelled code get the AWS SDK's exception name as ErrorId).
$script:SSMErrorKinds = @{
    invalidRequest  = 'System.ArgumentException', 'SSMSession.{0}', 'InvalidArgument'
    credentials     = 'System.InvalidOperationException', 'InvalidOperationException', 'InvalidOperation'
    region          = 'System.InvalidOperationException', 'InvalidOperationException', 'InvalidOperation'
    service         = 'System.InvalidOperationException', 'Amazon.SimpleSystemsManagement.AmazonSimpleSystemsManagementException', 'InvalidOperation'
    transport       = 'System.Net.Http.HttpRequestException', 'SSMSession.ConnectionFailure', 'ConnectionError'
    network         = 'System.Net.Http.HttpRequestException', 'SSMSession.{0}', 'ConnectionError'
    timeout         = 'System.TimeoutException', 'SSMSession.Timeout', 'OperationTimeout'
    invalidResponse = 'System.IO.InvalidDataException', 'SSMSession.InvalidResponse', 'InvalidResult'
    dataChannel     = 'System.InvalidOperationException', 'SSMSession.{0}', 'ConnectionError'
    internal        = 'System.InvalidOperationException', 'SSMSession.InternalError', 'NotSpecified'
    panic           = 'System.InvalidOperationException', 'SSMSession.InternalError', 'NotSpecified'
    cancelled       = 'System.OperationCanceledException', 'SSMSession.Cancelled', 'OperationStopped'
}
# The parameters every command that calls AWS takes to build its client (credentials,
# region, endpoint, client settings), declared in each command's param block.
$script:SSMClientParameterNames = 'ClientConfig', 'AccessKey', 'SecretKey', 'SessionToken', 'Credential', 'ProfileName', 'ProfileLocation', 'Region', 'EndpointUrl'
# What $AWSHistory records instead of a session token (see Complete-SSMApiRun).
$script:SSMRedacted = '(redacted; set $AWSHistory.IncludeSensitiveData = $true to record it)'
# -Select's default per operation, what AWS Tools writes without -Select: the response, or
# Stop-SSMSession's session id (ConvertTo-SSMSelector parses every other value).
$script:SSMDefaultSelectors = @{
    StartSession     = @{ Kind = 'All' }
    ResumeSession    = @{ Kind = 'All' }
    TerminateSession = @{ Kind = 'Path'; Path = @('SessionId') }
}
# Whether running port forwards are stopped when the module is removed or pwsh exits
# (registered with the first forward; see Register-SSMPortForwardCleanup).
$script:SSMCleanupRegistered = $false
# The environment variable names (besides AWS_*) sent with each call; built on first use
# (see ConvertTo-SSMServiceRequest).
$script:SSMEnvironmentNames = $null

# Plain functions: the helpers every Start-, Stop- and Resume-SSMSession call runs
# (New-SSMApiRun, Invoke-SSMApiCommand, ConvertTo-SSMServiceRequest, Invoke-SSMOperation,
# Complete-SSMApiRun; ConvertTo-SSMJson and Use-SSMCallerPreference, which other commands
# run) are not advanced functions: a call of an advanced function costs ~60 µs against
# ~20 µs for a plain one. They keep typed parameters, [OutputType] and help; their callers
# are the module's own code, which always passes what they need. Every other function is
# advanced. A warm call makes five of these calls and nothing else of ours: each call
# costs ~15-20 µs of its own, so the warm path is folded into them (measured: 0.67 ms per
# warm Start-SSMSession, against 0.76 ms when it made ten; see docs/performance.md).

# Private helpers report failures with `throw [ErrorRecord]`; public functions catch them
# and rethrow through $PSCmdlet.ThrowTerminatingError, so every failure is terminating for
# the caller whatever its ErrorActionPreference, and keeps its ErrorId and category.

#region functions
foreach ($folder in 'Private', 'Public') {
    foreach ($file in [System.IO.Directory]::GetFiles((Join-Path $PSScriptRoot $folder), '*.ps1')) {
        . $file
    }
}
#endregion functions

# Tab completion (static lists and local files only; registering costs microseconds).
Register-SSMArgumentCompleter
