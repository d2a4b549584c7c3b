function ConvertTo-SSMSelector {
    <#
    .SYNOPSIS
    Validates -Select and -PassThru the way AWS Tools does and returns what to output.

    .DESCRIPTION
    '*' selects the whole response. '^Name' selects the bound value of one of the cmdlet's
    own parameters (for Start-SSMSession: DocumentName, Parameter/Parameters, Reason,
    Target, Select, PassThru, Force; for Stop-/Resume-SSMSession: SessionId, Select,
    PassThru, Force; the common credential and region parameters are inherited in AWS Tools
    and so not selectable). Anything else is a case-insensitive dotted path over the
    properties the response type declares (e.g. SessionId, StreamUrl, TokenValue, and
    String's Length below them). An empty or unknown value is "Invalid value for -Select
    parameter."; -PassThru means '^<the cmdlet's primary parameter>' and cannot be combined
    with -Select. Failures are ErrorRecords with ErrorId System.ArgumentException.

    .PARAMETER Operation
    The API operation whose response is selected from: StartSession (default '*', -PassThru
    = DocumentName), TerminateSession (default 'SessionId', -PassThru = SessionId) or
    ResumeSession (default '*', -PassThru = SessionId).

    .PARAMETER Select
    The -Select value.

    .PARAMETER SelectBound
    Whether -Select was bound (its default '*' otherwise).

    .PARAMETER PassThru
    Whether -PassThru was given.
    #>
    [CmdletBinding()]
    [OutputType([hashtable])]
    param(
        [AllowNull()]
        [AllowEmptyString()]
        [string] $Select,

        [switch] $SelectBound,

        [switch] $PassThru,

        [ValidateSet('StartSession', 'TerminateSession', 'ResumeSession')]
        [string] $Operation = 'StartSession'
    )

    $fail = {
        param([string] $Message)
        throw ([System.Management.Automation.ErrorRecord]::new(
                [System.ArgumentException]::new($Message, 'Select'),
                'System.ArgumentException',
                [System.Management.Automation.ErrorCategory]::InvalidArgument,
                $Select))
    }
    $sessionParameters = @{ sessionid = 'SessionId'; select = 'Select'; passthru = 'PassThru'; force = 'Force' }
    $shape = switch ($Operation) {
        'StartSession' {
            @{
                Type       = 'StartSessionResponse'
                PassThru   = 'DocumentName'
                Parameters = @{
                    documentname = 'DocumentName'; parameter = 'Parameter'; parameters = 'Parameter'; reason = 'Reason'
                    target = 'Target'; select = 'Select'; passthru = 'PassThru'; force = 'Force'
                }
            }
        }
        'TerminateSession' {
            @{ Type = 'TerminateSessionResponse'; PassThru = 'SessionId'; Parameters = $sessionParameters }
        }
        'ResumeSession' {
            @{ Type = 'ResumeSessionResponse'; PassThru = 'SessionId'; Parameters = $sessionParameters }
        }
    }
    if (-not $SelectBound) {
        if ($PassThru) {
            return @{ Kind = 'Parameter'; Name = $shape.PassThru }
        }
        return $script:SSMDefaultSelectors[$Operation]
    }

    $invalid = 'Invalid value for -Select parameter.'
    if ([string]::IsNullOrEmpty($Select)) { & $fail $invalid }
    $selector = if ($Select -eq '*') {
        @{ Kind = 'All' }
    } elseif ($Select.StartsWith('^')) {
        $name = $shape.Parameters[$Select.Substring(1).ToLowerInvariant()]
        if (-not $name) { & $fail $invalid }
        @{ Kind = 'Parameter'; Name = $name }
    } else {
        # The declared public instance properties of each type a path can pass through.
        $model = @{
            StartSessionResponse     = @{ sessionid = 'SessionId', 'String'; streamurl = 'StreamUrl', 'String'; tokenvalue = 'TokenValue', 'String' }
            ResumeSessionResponse    = @{ sessionid = 'SessionId', 'String'; streamurl = 'StreamUrl', 'String'; tokenvalue = 'TokenValue', 'String' }
            TerminateSessionResponse = @{ sessionid = 'SessionId', 'String' }
            String                   = @{ length = 'Length', 'Int32' }
        }
        $type = $shape.Type
        $path = foreach ($segment in $Select.Split('.')) {
            $properties = $model[$type]
            $member = if ($properties -and $segment) { $properties[$segment.ToLowerInvariant()] }
            if (-not $member) { & $fail $invalid }
            $member[0]
            $type = $member[1]
        }
        @{ Kind = 'Path'; Path = @($path) }
    }
    if ($PassThru) { & $fail '-PassThru cannot be used when -Select is specified.' }
    $selector
}
